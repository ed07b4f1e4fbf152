// File: proxy/internal/ev_handles.h
//
// RAII owners for libevent handles (CPtr): a pointer-sized unique_ptr whose deleter is the
// C free function. Each alias names who frees what; a handle given to libevent (a bufferevent
// handed to a connection, an SSL handed to a bufferevent) is released inside the taking call.
// RunGuarded is how a libevent callback runs our code.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <exception>

#include "cassette/base/c_ptr.h"

namespace td::proxy::internal {

using td::CPtr;

inline void FreeEvdnsBaseFailingRequests(evdns_base* base) { evdns_base_free(base, 1); }

using EventConfigPtr = CPtr<event_config, event_config_free>;
using EventBasePtr = CPtr<event_base, event_base_free>;
using EventPtr = CPtr<event, event_free>;
using EvBufferPtr = CPtr<evbuffer, evbuffer_free>;
using BufferEventPtr = CPtr<bufferevent, bufferevent_free>;
using EvConnListenerPtr = CPtr<evconnlistener, evconnlistener_free>;
// evdns_base_free(base, 1): pending lookups fail with EVUTIL_EAI_CANCEL.
using EvdnsBasePtr = CPtr<evdns_base, FreeEvdnsBaseFailingRequests>;
using EvAddrInfoPtr = CPtr<evutil_addrinfo, evutil_freeaddrinfo>;

// Runs `body` from a libevent callback, where nothing may unwind: an exception becomes a call
// to `on_exception(what)`, which must not throw.
template <class Body, class OnException>
void RunGuarded(Body&& body, OnException&& on_exception) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    on_exception(e.what());
  } catch (...) {
    on_exception("unexpected exception");
  }
}

}  // namespace td::proxy::internal
