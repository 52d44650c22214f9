#ifndef FIREHOSE_CHTTPPARSER_SHIM_H
#define FIREHOSE_CHTTPPARSER_SHIM_H
#include <sys/types.h>
#include <stdint.h>
#include <http_parser.h>
#endif
