/* Which compartment is this code in?
 *
 * flexbuild links a private `flex_self` into every compartment (the symbol is made local to each
 * compartment's object), so code reads its own compartment's identity without asking anyone:
 *
 *   #include <flex/runtime/self.h>
 *   printf("running in %s\n", flex_self.name);
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
