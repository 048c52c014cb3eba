// The symbolizer behind fault reports (fault.h): this test binary's own .symtab, read the way an image
// reads its own at boot, names its functions at their run-time (PIE-relocated) addresses.
#include <gtest/gtest.h>

#include <cstdint>

#include "flex/runtime/fault.h"

extern "C" __attribute__((noinline)) int flex_symbols_probe(int x) {
  asm volatile("nop; nop; nop; nop" : "+r"(x));  // a few bytes, so an address inside it exists
  return x * 3 + 1;
}

namespace flex::runtime {
namespace {

std::uintptr_t probe_address() {
  return reinterpret_cast<std::uintptr_t>(&flex_symbols_probe);
}

TEST(symbols, a_pc_inside_a_function_is_named_with_its_offset) {
  ASSERT_EQ(load_symbols(), 0);
  std::uintptr_t offset = 0;
  const char *name = symbol_at(probe_address() + 2, offset);
  ASSERT_NE(name, nullptr);
  EXPECT_STREQ(name, "flex_symbols_probe");
  EXPECT_EQ(offset, 2u);
  name = symbol_at(probe_address(), offset);
  ASSERT_NE(name, nullptr);
  EXPECT_STREQ(name, "flex_symbols_probe");
  EXPECT_EQ(offset, 0u);
}

TEST(symbols, addresses_outside_every_function_have_no_name) {
  ASSERT_EQ(load_symbols(), 0);
  std::uintptr_t offset = 0;
  int on_the_stack = 0;
  EXPECT_EQ(symbol_at(reinterpret_cast<std::uintptr_t>(&on_the_stack), offset), nullptr);
  EXPECT_EQ(symbol_at(0, offset), nullptr);
  EXPECT_EQ(symbol_at(~std::uintptr_t{0}, offset), nullptr);
}

TEST(symbols, loading_again_keeps_the_first_table) {
  ASSERT_EQ(load_symbols(), 0);
  std::uintptr_t offset = 0;
  const char *first = symbol_at(probe_address(), offset);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(load_symbols(), 0);
  EXPECT_EQ(symbol_at(probe_address(), offset), first) << "the signal handler may hold the old names";
}

}  // namespace
}  // namespace flex::runtime
