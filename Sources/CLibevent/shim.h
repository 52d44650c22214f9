#ifndef FIREHOSE_CLIBEVENT_SHIM_H
#define FIREHOSE_CLIBEVENT_SHIM_H
// System headers first: event-config.h defines _GNU_SOURCE, which must not follow features.h.
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <event2/http.h>
#endif
