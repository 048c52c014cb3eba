/* FLEXOS_SHARED_LITERAL, where FlexOS-annotated code includes it from: it lives in <flexos/isolation.h>. */
#ifndef FLEXOS_LITERALS_H
#define FLEXOS_LITERALS_H
#include <flexos/isolation.h>
#endif
