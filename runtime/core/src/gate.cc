// The gate front end's run-time state.
#include "flex/runtime/gate.h"

namespace flex::runtime {

bool g_count_gates = false;

}  // namespace flex::runtime
