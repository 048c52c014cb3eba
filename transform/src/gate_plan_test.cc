#include "flex/transform/gate_plan.h"

#include <gtest/gtest.h>

namespace flex::transform {
namespace {

constexpr const char *kPlan = R"({"library": "hello", "compartment": "app", "sharing": {"stack": "dss"},
  "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_write"]},
              "hello": {"compartment": "app", "gate": "call", "exports": []}}})";

TEST(gate_plan, parses_targets_by_manifest_name) {
  std::string errors;
  llvm::raw_string_ostream out(errors);
  diag_log log(out);
  std::optional<gate_plan> plan = parse_gate_plan(kPlan, "plan.json", log);
  ASSERT_TRUE(plan) << errors;
  EXPECT_EQ(plan->library, "hello");
  EXPECT_EQ(plan->sharing.at("stack"), "dss");
  const gate_target *console = plan->find_gate_library("libconsole");
  ASSERT_NE(console, nullptr);
  EXPECT_EQ(console->gate, gate_kind::mpk_full);
  EXPECT_EQ(console->compartment, "core");
  EXPECT_TRUE(console->exports_function("console_write"));
  EXPECT_FALSE(console->exports_function("console_read"));
  EXPECT_EQ(plan->find_gate_library("console"), nullptr);  // gates spell it libconsole
  EXPECT_EQ(plan->gate_library_names(), (std::vector<std::string>{"libconsole", "libhello"}));
}

TEST(gate_plan, reports_every_problem_with_the_plan_path) {
  std::string errors;
  llvm::raw_string_ostream out(errors);
  diag_log log(out);
  auto plan = parse_gate_plan(R"({"library": 3, "targets": {"x": {"gate": "mpk"}}})", "p.json", log);
  EXPECT_FALSE(plan);
  EXPECT_TRUE(log.has_errors());
  EXPECT_NE(errors.find("p.json: error: library: expected a string"), std::string::npos) << errors;
  EXPECT_NE(errors.find("p.json: error: missing key 'compartment'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("p.json: error: missing key 'targets.x.exports'"), std::string::npos) << errors;
}

TEST(gate_plan, syntax_errors_carry_line_and_column) {
  std::string errors;
  llvm::raw_string_ostream out(errors);
  diag_log log(out);
  EXPECT_FALSE(parse_gate_plan("{\n  \"library\": ,\n}", "p.json", log));
  EXPECT_NE(errors.find("p.json:2:14: error: invalid JSON"), std::string::npos) << errors;
}

TEST(gate_kind, round_trips_the_plan_spelling) {
  for (gate_kind kind : {gate_kind::call, gate_kind::mpk_light, gate_kind::mpk_full, gate_kind::process})
    EXPECT_EQ(parse_gate_kind(to_string(kind)), kind);
  EXPECT_EQ(parse_gate_kind("mpk"), std::nullopt);
}

TEST(nearest_name, suggests_only_plausible_typos) {
  EXPECT_EQ(nearest_name("net_rcv", {"net_send", "net_recv"}), "net_recv");
  EXPECT_EQ(nearest_name("libnte", {"libnet", "libconsole"}), "libnet");
  EXPECT_EQ(nearest_name("libfoo", {"libnet", "libconsole"}), std::nullopt);
}

}  // namespace
}  // namespace flex::transform
