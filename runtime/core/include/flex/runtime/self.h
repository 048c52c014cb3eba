/* Which compartment is this code in?
 *
 * flexbuild links a private `flex_self` into every compartment (the symbol is made local to each
 * compartment's object), so code reads its own compartment's identity without asking anyone:
 *
 *   #include <flex/runtime/self.h>
 *   printf("running in %s\n", flex_self.name);
 *
 * Beside it, for every library L of the image, a private constant says whether L's code runs in this
 * compartment's process, so that it shares this compartment's file descriptors: 1 in the same compartment
 * or when both compartments live in the main process, 0 when either is a process compartment. Declare it
 * weak to ask about a library the image may not have (absent: not in this image):
 *
 *   extern const int flex_colocated_sched __attribute__((weak));
 *   bool sched_here = &flex_colocated_sched && flex_colocated_sched;
 */
#ifndef FLEX_RUNTIME_SELF_H
#define FLEX_RUNTIME_SELF_H

#ifdef __cplusplus
extern "C" {
#endif

struct flex_self_info {
  const char *name; /* the compartment's name in the profile */
  unsigned index;   /* its index in flex_image.compartments */
};

extern const struct flex_self_info flex_self;

#ifdef __cplusplus
}
#endif

#endif /* FLEX_RUNTIME_SELF_H */
