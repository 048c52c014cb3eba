// The gates of one image, as flexbuild generates them (work/gen/gates.cc): the export table of each
// compartment, the per-boundary counters, and the entry into the app. The runtime reads these at boot.
//
//   for (unsigned i = 0; i < flex_image_n_counters; ++i)
//     printf("%u -> %u: %llu\n", flex_image_counters[i].from, flex_image_counters[i].to, ...);
#pragma once

#include "flex/runtime/gate.h"

extern "C" {

// What a compartment offers to gates that reach it by export id (the process backend): entry i is the
// export with id i. Only these may be called across a process boundary.
struct flex_export_table {
  const flex::runtime::erased_fn *fns;
  unsigned n;
};

// One per boundary that has a gate wrapper (kinds other than call).
struct flex_counter_ref {
  unsigned from;  // compartment indices
  unsigned to;
  flex::runtime::gate_counter *counter;
};

extern const flex_export_table flex_image_exports[];  // indexed by compartment
extern const flex_counter_ref flex_image_counters[];
extern const unsigned flex_image_n_counters;

// Runs the app's main in the app's compartment, through the gate from the default compartment.
int flex_enter_app(int argc, char **argv);

}  // extern "C"
