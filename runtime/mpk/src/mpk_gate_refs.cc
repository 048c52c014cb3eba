// Reference instantiations of the mpk gates, so the library itself carries their machine code: the
// gate-code test disassembles them from libflex_runtime_mpk.a (llvm-objdump), and the benchmarks call
// them. Images instantiate their own gates from mpk_gate.h, with their profile's PKRU values and fixed
// callees, and hold none of these (mixed_isolation.holds_only_gates_with_fixed_callees): this object is
// apart from every symbol an image needs, so no link pulls it in. A light gate from the runtime (the first
// below) would return with every key open on whatever stack its jumper chose.
#include "flex/runtime/mpk_gate.h"

namespace flex::runtime::detail {

// A runtime caller entering domain 0 (key 1) of a two-domain image (shared key 3), and domain 0 calling
// domain 1 (key 2).
template struct mpk_light_entry<kPkruRuntime, pkru_for(1, 3)>;
template struct mpk_light_entry<pkru_for(1, 3), pkru_for(2, 3)>;
template struct mpk_full_entry<kPkruRuntime, pkru_for(1, 3), 1>;
template struct mpk_full_entry<pkru_for(1, 3), pkru_for(2, 3), 2>;

}  // namespace flex::runtime::detail
