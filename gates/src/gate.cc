// The gate front end's run-time state.
#include "flex/gates/gate.h"

namespace flex::gates {

bool g_count_gates = false;

}  // namespace flex::gates
