// The gate conformance suite, isolation and refusal: what each backend stops. Where a backend isolates
// memory, a read of another compartment's private memory ends the image with the runtime's fault report
// naming the owner; where it does not (call, emulated mpk), the read is checked to succeed, so the table
// of guarantees in the harnesses (conformance.h) is tested both ways. Likewise an entry the backend must
// refuse ends the image with its documented status, and the plain call is checked to refuse nothing.
#include "conformance.h"

namespace flex::runtime::conformance {
namespace {

// `reader` reads `owner`'s private word: app directly, any other compartment through an export.
template <typename B>
long read_as(unsigned reader, unsigned owner) {
  if (reader == kApp) return read_word(g_private[owner]);
  return conf_call<B>(reader, kRead, &read_word, g_private[owner]);
}

template <typename B>
void check_private_memory(unsigned reader, unsigned owner) {
  using H = harness<B>;
  const auto access = [reader, owner] {
    EXPECT_EQ(read_as<B>(owner, owner), secret(owner));   // the owner reads its own
    EXPECT_EQ(read_as<B>(reader, owner), secret(owner));  // returns only where memory is not isolated
  };
  if constexpr (H::kIsolatesMemory) {
    H::ends_image(access, kExitFault, fault_report(H::kFaultCode, reader, owner));
  } else {
    H::run(access);
  }
}

TYPED_TEST(gate_conformance, callee_reading_its_callers_private_memory) {
  check_private_memory<TypeParam>(kCallee, kApp);
}

TYPED_TEST(gate_conformance, caller_reading_its_callees_private_memory) {
  check_private_memory<TypeParam>(kApp, kCallee);
}

TYPED_TEST(gate_conformance, compartment_reading_a_third_ones_private_memory) {
  check_private_memory<TypeParam>(kCallee, kPeer);
}

// process: an export id outside the callee's table, a compartment the image does not have. mpk: a jump
// onto a gate's WRPKRU with another EAX; mpk-full also a forged stack for the callee. call: nothing is
// refused, a call goes wherever it is pointed (the export id means nothing to it).
TYPED_TEST(gate_conformance, a_call_the_backend_must_refuse_ends_the_image) {
  using B = TypeParam;
  using H = harness<B>;
  const std::vector<refusal> refusals = H::refusals();
  if constexpr (H::kRefusesForeignEntries) {
    ASSERT_FALSE(refusals.empty());
    for (const refusal &r : refusals) {
      SCOPED_TRACE(r.what);
      H::ends_image([&r] { r.attempt(); }, r.status, r.report);
    }
  } else {
    EXPECT_TRUE(refusals.empty());
    H::run([] { EXPECT_EQ(conf_call<B>(kCallee, kNoSuchExport, &f0), 42); });
  }
}

}  // namespace
}  // namespace flex::runtime::conformance
