// File: proxy/upstream_url.h
//
// The upstream a recording forwards to, validated once at start-up so a typo fails with a clear
// message (exit 2) instead of a confusing error on the first request; and the rule for joining
// the upstream's path prefix with each request target. No libevent here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"

namespace td::proxy {

struct UpstreamUrl {
  std::string scheme;       // "http" or "https" (lower case)
  std::string host;         // "api.anthropic.com", "127.0.0.1", "::1" (no brackets), lower case
  uint16_t port = 0;        // explicit, or 80 / 443 from the scheme
  std::string path_prefix;  // "" or "/v1", "/api/anthropic": never ends in '/'

  bool tls() const { return scheme == "https"; }
  bool default_port() const { return port == (tls() ? 443 : 80); }
  // The Host header value: host, or host:port when the port is not the scheme's default;
  // IPv6 literals in brackets.
  std::string HostHeader() const;
  // "https://api.anthropic.com/v1", for logs and messages.
  std::string ToString() const;
};

// Parses and validates an upstream URL. Rejected, with the reason in the message:
// leading or trailing whitespace and control characters anywhere (which character, at which
// 0-based position), a missing scheme or one other than http/https, a missing host, userinfo
// ("user:pass@"), a query, a fragment, a bad port. Messages look like
//   upstream URL "localhost:8080": missing scheme (expected http:// or https://)
// Error code kInvalidArgument.
Result<UpstreamUrl> ParseUpstreamUrl(std::string_view text);

// The target to send upstream for a request target received by the proxy.
// The rule: when the target's path already starts with the prefix at a segment boundary, it is
// sent unchanged (clients configured with base URL ".../v1" that also put /v1 in their paths
// must not get /v1/v1); otherwise the prefix is put in front. The query is kept as it is.
//   JoinPath("/v1", "/v1/messages")            -> "/v1/messages"
//   JoinPath("/v1", "/messages?beta=true")     -> "/v1/messages?beta=true"
//   JoinPath("/api/anthropic", "/v1/messages") -> "/api/anthropic/v1/messages"
//   JoinPath("/v1", "/v10/x")                  -> "/v1/v10/x"
//   JoinPath("", "/v1/messages")               -> "/v1/messages"
std::string JoinPath(std::string_view prefix, std::string_view target);

// An upstream mounted at the path prefix "/NAME" (`--upstream NAME=URL`): a request whose path
// starts with /NAME at a segment boundary goes to `url`, the prefix taken off.
struct UpstreamMount {
  std::string name;  // cassette::IsValidMountName; empty: the unnamed upstream (`--upstream URL`)
  UpstreamUrl url;
};

// Parses `--upstream`'s value: "NAME=URL" mounts URL at /NAME; a plain URL is the unnamed
// upstream. Errors name the value (with ParseUpstreamUrl's reasons, or the bad name).
Result<UpstreamMount> ParseUpstreamMount(std::string_view text);

// Which of `mounts` a request target falls under, and the target to forward: "/NAME/rest?q"
// -> "/rest?q", "/NAME" or "/NAME?q" -> "/" or "/?q". nullopt when it is under none.
struct MountedTarget {
  size_t mount = 0;  // index in `mounts`
  std::string target;
};
std::optional<MountedTarget> FindMount(const std::vector<UpstreamMount>& mounts,
                                       std::string_view target);

}  // namespace td::proxy
