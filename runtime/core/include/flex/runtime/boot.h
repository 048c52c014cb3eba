// Boot of a linked image (libflex_runtime): the compartments of flex_image, started before the app runs.
//
//   if (flex::runtime::boot_image(argc, argv) < 0) return 1;   // a clear message was printed
//   return flex::runtime::enter_app(argc, argv);
#pragma once

#include <cstdio>

namespace flex::runtime {

// Registers the compartments' memory with the fault reporter and starts the backends the image uses
// (process compartments are forked here; in them this never returns). Refuses, with a message on
// stderr, what it cannot provide. Returns 0 or a negative errno. argc and argv are the app's: an image
// that runs an unmodified program links it here, with its arguments (runtime/binary).
int boot_image(int argc = 0, char **argv = nullptr);

// Runs the app's entry (flex_enter_app) on the stack boot gave the main process's compartment, when it
// gave one (process images: that stack is unmapped in every compartment process); in an image whose MPK
// domains' system calls go through the runtime, on the runtime's own stack (its key: no compartment can
// write the frames the runtime returns through), and then finish_image there, never returning; else on
// this one.
int enter_app(int argc, char **argv);
// What main does once the app's entry returned: flushes, reports, ends the image with `rc`.
[[noreturn]] void finish_image(int rc);

// In an image with MPK domains (image_end.cc): the runtime gives the standard output a buffer of its own
// at boot (before the app runs), and ends the image without libc, whose writable state every compartment
// may rewrite: `report` (may be null) formats its own lines, then the backends end, the standard output's
// pending bytes are written from that buffer, and the image ends with exit_group(rc). No exit handler runs.
void own_standard_output();
bool write_out_standard_output();  // false: the FILE's pointers lie outside the runtime's buffer
[[noreturn]] void end_without_libc(int rc, void (*report)());

// Each backend's part of --describe (keys, processes, whether this machine can run them).
void describe_backends(std::FILE *out);

// Ends the backends in reverse boot order (the image ends normally; compartment processes are asked to
// exit and reaped).
void shutdown_backends();

}  // namespace flex::runtime
