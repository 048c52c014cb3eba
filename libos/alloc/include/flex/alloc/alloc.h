// The libOS allocator, for libraries that carve a region of their own (a file system's block cache, a
// packet pool): the TLSF heap of base/tlsf under the libOS's name. The compartment heaps behind malloc are
// the runtime's (runtime/heap), built on the same engine.
//
//   flex::alloc::heap *h = flex::alloc::heap::create({region, bytes});
//   void *p = h->malloc(100);
//   h->free(p);
#pragma once

#include <flex/tlsf/tlsf.h>

namespace flex::alloc {

using heap = flex::tlsf::heap;
using heap_region = flex::tlsf::heap_region;
using heap_options = flex::tlsf::heap_options;
using heap_stats = flex::tlsf::heap_stats;

}  // namespace flex::alloc
