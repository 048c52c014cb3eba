// Rewrites a whitelisted local of a library with isolating boundaries into shared storage (sharing.stack:
// dss, heap or shared). The declaration stays, as the initial value; a pointer to shared storage follows
// it on the same line, and every later use of the local goes through that pointer:
//
//   Before:  char buf[64] __attribute__((flexos_whitelist)) = "hi";
//            flexos_gate(libnet, net_recv, fd, buf, sizeof buf);
//   After:   char buf[64] = "hi"; void *const __flex_wl_buf __attribute__((cleanup(flexos_wl_release))) =
//                flexos_wl_alloc(&buf, sizeof buf, __alignof__(buf), FLEXOS_WL_DSS);
//            <gate>(fd, (*(__typeof__(buf) *)__flex_wl_buf), sizeof (*(__typeof__(buf) *)__flex_wl_buf));
// (the `After` declaration is one line in the copy: line numbers never move). The cleanup attribute gives
// the storage back on every path out of the scope (return, break, goto, the end of the block). What
// cannot be made safe is an error at the local: a function that calls setjmp/longjmp or uses a computed
// goto (control could leave the scope without the cleanup), a variable-length array, `register`, a C++
// type that is not trivially copyable, a declaration that declares more than this local, and a use
// written in a macro's own definition (a use spelled in a macro argument is rewritten where it is spelled).
//
// Usage:
//   shared_local_rewrite r = rewrite_shared_local(context, *var, "dss");
//   for (auto &e : r.edits) edits.add(e);  for (auto &[loc, msg] : r.errors) report(loc, msg);
//   (r.uses: into gate arguments first, the rest into `edits`)
#pragma once

#include "flex/transform/edits.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clang {
class ASTContext;
class VarDecl;
}  // namespace clang

namespace flex::transform {

struct shared_local_rewrite {
  std::vector<text_edit> edits;  // besides the removal of the flexos_whitelist token (whitelist_stripper)
  // The uses, each `name` -> `(*__flex_wl_name)` at its spelling. A use spelled in a gate placeholder's
  // argument is applied to that argument's text by the gate's own rewrite (they would overlap).
  std::vector<text_edit> uses;
  std::vector<std::pair<clang::SourceLocation, std::string>> errors;
};

// `mode`: the profile's sharing.stack ("dss", "heap" or "shared"); `(__typeof__(buf) *)` keeps the
// local's own type at every use.
shared_local_rewrite rewrite_shared_local(clang::ASTContext &context, const clang::VarDecl &var,
                                          std::string_view mode);

}  // namespace flex::transform
