// Out-of-line anchors for the interfaces in exchange.h.
#include "proxy/exchange.h"
