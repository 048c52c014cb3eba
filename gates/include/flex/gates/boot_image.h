// Boot of a linked image (libflex_runtime): the compartments of flex_image, started before the app runs.
//
//   if (flex::gates::boot_image() < 0) return 1;   // a clear message was printed
//   return flex_enter_app(argc, argv);
#pragma once

namespace flex::gates {

// Registers the compartments' memory with the fault reporter and starts the backends the image uses
// (process compartments are forked here; in them this never returns). Refuses, with a message on
// stderr, what it cannot provide. Returns 0 or a negative errno.
int boot_image();

}  // namespace flex::gates
