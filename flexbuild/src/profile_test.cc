#include "flex/build/profile.h"

#include <gtest/gtest.h>

#include <string>

namespace flex::build {
namespace {

std::string dump(const diag_sink &diags) {
  std::string out;
  for (const yaml::diagnostic &d : diags.all()) out += render(d, false);
  return out;
}

// Exactly one error, at line:col, whose message and hint contain the given text.
::testing::AssertionResult has_error(const diag_sink &diags, int line, int col, std::string_view message,
                                     std::string_view hint = {}) {
  if (diags.error_count() != 1) {
    return ::testing::AssertionFailure() << "expected one error, got " << diags.error_count() << ":\n"
                                         << dump(diags);
  }
  for (const yaml::diagnostic &d : diags.all()) {
    if (d.level != yaml::severity::error) continue;
    if (d.pos.file != "p.yaml" || d.pos.line != line || d.pos.column != col ||
        d.message.find(message) == std::string::npos || d.hint.find(hint) == std::string::npos) {
      return ::testing::AssertionFailure() << "expected p.yaml:" << line << ":" << col << " '" << message
                                           << "' (hint '" << hint << "'), got:\n"
                                           << dump(diags);
    }
  }
  return ::testing::AssertionSuccess();
}

// The line (1-based) on which `needle` first occurs in `text`.
int line_of(std::string_view text, std::string_view needle) {
  std::size_t at = text.find(needle);
  return at == std::string_view::npos
             ? -1
             : 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

constexpr const char *kFull = R"(name: redis-3comp
app: redis
compartments:
  - name: app
    isolation: mpk
    hardening: [asan, ubsan]
    libraries: [redis]
  - name: net
    isolation: process
    hardening:
      - stack-protector
      - fortify
    libraries: [net]
  - name: core
    default: true
    libraries: [sched, vfs, ramfs, time, console]
sharing:
  stack: heap
gates:
  mpk: light
memory:
  heap_mib: {app: 256, net: 64}
)";

class profile_test : public ::testing::Test {
 protected:
  std::optional<profile> parse(std::string_view text) { return parse_profile("p.yaml", text, diags_); }
  diag_sink diags_;
};

TEST_F(profile_test, full_profile_round_trips) {
  auto p = parse(kFull);
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_EQ(p->file, "p.yaml");
  EXPECT_EQ(p->name, "redis-3comp");
  EXPECT_EQ(p->app.value, "redis");
  EXPECT_EQ(p->app.pos.line, 2);
  EXPECT_EQ(p->app.pos.column, 6);
  EXPECT_EQ(p->stack, stack_sharing::heap);
  EXPECT_EQ(p->mpk_gate, mpk_gate_kind::light);
  ASSERT_EQ(p->compartments.size(), 3u);

  const compartment &app = p->compartments[0];
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.iso, isolation::mpk);
  EXPECT_EQ(app.hardenings, (std::vector<hardening>{hardening::asan, hardening::ubsan}));
  ASSERT_EQ(app.hardening_item_pos.size(), 2u);
  EXPECT_EQ(app.hardening_item_pos[1].line, 6);
  EXPECT_EQ(app.hardening_item_pos[1].column, 23);
  EXPECT_TRUE(app.has(hardening::asan));
  EXPECT_FALSE(app.has(hardening::fortify));
  ASSERT_EQ(app.libraries.size(), 1u);
  EXPECT_EQ(app.libraries[0].value, "redis");
  EXPECT_EQ(app.libraries[0].pos.line, 7);
  EXPECT_EQ(app.libraries[0].pos.column, 17);
  EXPECT_FALSE(app.is_default);
  EXPECT_EQ(app.heap_mib, 256u);
  EXPECT_EQ(app.pos.line, 4);
  EXPECT_EQ(app.pos.column, 5);
  EXPECT_EQ(app.iso_pos.line, 5);
  EXPECT_EQ(app.iso_pos.column, 16);

  const compartment &net = p->compartments[1];
  EXPECT_EQ(net.iso, isolation::process);
  EXPECT_EQ(net.hardenings, (std::vector<hardening>{hardening::stack_protector, hardening::fortify}));
  EXPECT_EQ(net.hardening_item_pos[0].line, 11);
  EXPECT_EQ(net.hardening_item_pos[0].column, 9);
  EXPECT_EQ(net.heap_mib, 64u);

  const compartment &core = p->compartments[2];
  EXPECT_EQ(core.iso, isolation::none);
  EXPECT_TRUE(core.is_default);
  EXPECT_EQ(core.libraries.size(), 5u);
  EXPECT_EQ(core.heap_mib, 0u);

  EXPECT_EQ(p->default_compartment(), &p->compartments[2]);
  EXPECT_EQ(p->find("net"), &p->compartments[1]);
  EXPECT_EQ(p->find("nope"), nullptr);
}

TEST_F(profile_test, defaults) {
  auto p = parse("name: hello-1comp\napp: hello\ncompartments:\n  - name: all\n");
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_EQ(p->stack, stack_sharing::dss);
  EXPECT_EQ(p->mpk_gate, mpk_gate_kind::full);
  ASSERT_EQ(p->compartments.size(), 1u);
  const compartment &c = p->compartments[0];
  EXPECT_EQ(c.iso, isolation::none);
  EXPECT_TRUE(c.is_default);  // the only compartment is the default
  EXPECT_TRUE(c.hardenings.empty());
  EXPECT_TRUE(c.libraries.empty());
  EXPECT_EQ(c.heap_mib, 0u);
  EXPECT_EQ(p->default_compartment(), &c);
  EXPECT_EQ(p->lockdown, lockdown_mode::enforce);
}

TEST_F(profile_test, lockdown_modes) {
  auto p = parse("name: p\napp: hello\ncompartments:\n  - name: all\nlockdown: log\n");
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_EQ(p->lockdown, lockdown_mode::log);
  p = parse("name: p\napp: hello\ncompartments:\n  - name: all\nlockdown: off\n");
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_EQ(p->lockdown, lockdown_mode::off);
  EXPECT_FALSE(parse("name: p\napp: hello\ncompartments:\n  - name: all\nlockdown: enforced\n"));
  EXPECT_NE(dump(diags_).find("enforce"), std::string::npos) << dump(diags_);
  EXPECT_NE(dump(diags_).find(":5:11"), std::string::npos) << dump(diags_);
}

TEST_F(profile_test, flow_style_and_empty_sections) {
  auto p = parse(
      "{name: a.b_c-1, app: hello, compartments: [{name: x, default: true}, {name: y}],"
      " sharing: {}, gates:, memory: {heap_mib: {}}}");
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_EQ(p->name, "a.b_c-1");
  EXPECT_EQ(p->compartments.size(), 2u);
  EXPECT_EQ(p->default_compartment()->name, "x");
}

TEST(profile_strings, to_string) {
  EXPECT_EQ(to_string(isolation::none), "none");
  EXPECT_EQ(to_string(isolation::mpk), "mpk");
  EXPECT_EQ(to_string(isolation::process), "process");
  EXPECT_EQ(to_string(hardening::asan), "asan");
  EXPECT_EQ(to_string(hardening::ubsan), "ubsan");
  EXPECT_EQ(to_string(hardening::stack_protector), "stack-protector");
  EXPECT_EQ(to_string(hardening::fortify), "fortify");
  EXPECT_EQ(to_string(hardening::safestack), "safestack");
  EXPECT_EQ(to_string(hardening::cfi), "cfi");
  EXPECT_EQ(to_string(stack_sharing::dss), "dss");
  EXPECT_EQ(to_string(stack_sharing::heap), "heap");
  EXPECT_EQ(to_string(stack_sharing::shared), "shared");
  EXPECT_EQ(to_string(mpk_gate_kind::full), "full");
  EXPECT_EQ(to_string(mpk_gate_kind::light), "light");
  EXPECT_EQ(to_string(lockdown_mode::off), "off");
  EXPECT_EQ(to_string(lockdown_mode::log), "log");
  EXPECT_EQ(to_string(lockdown_mode::enforce), "enforce");
}

// --- schema errors -------------------------------------------------------------------------------

constexpr const char *kHead = "name: p\napp: hello\ncompartments:\n";  // lines 1-3

TEST_F(profile_test, unknown_key_in_a_compartment_suggests_the_nearest) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    isolaton: none\n"));
  EXPECT_TRUE(
      has_error(diags_, 5, 5, "unknown key 'isolaton' in a compartment", "did you mean 'isolation'?"));
}

TEST_F(profile_test, unknown_key_far_from_any_lists_the_valid_ones) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    colour: red\n"));
  EXPECT_TRUE(has_error(diags_, 5, 5, "unknown key 'colour' in a compartment",
                        "valid keys: name, isolation, hardening, libraries, default"));
}

TEST_F(profile_test, unknown_top_level_key) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\nshareing: {stack: dss}\n"));
  EXPECT_TRUE(has_error(diags_, 5, 1, "unknown key 'shareing' in the profile", "did you mean 'sharing'?"));
}

TEST_F(profile_test, duplicate_key_at_the_second) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    isolation: mpk\n    isolation: none\n"));
  EXPECT_TRUE(has_error(diags_, 6, 5, "duplicate key 'isolation' in a compartment", "line 5"));
}

TEST_F(profile_test, duplicate_top_level_key) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\napp: redis\n"));
  EXPECT_TRUE(has_error(diags_, 5, 1, "duplicate key 'app' in the profile"));
}

TEST_F(profile_test, missing_name) {
  EXPECT_FALSE(parse("app: hello\ncompartments:\n  - name: app\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "the profile has no 'name'", "add `name: <profile name>`"));
}

TEST_F(profile_test, missing_app) {
  EXPECT_FALSE(parse("name: p\ncompartments:\n  - name: app\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "the profile has no 'app'"));
}

TEST_F(profile_test, missing_compartments) {
  EXPECT_FALSE(parse("name: p\napp: hello\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "the profile has no 'compartments'"));
}

TEST_F(profile_test, invalid_profile_name) {
  EXPECT_FALSE(parse("name: Redis/3\napp: hello\ncompartments: [{name: a}]\n"));
  EXPECT_TRUE(has_error(diags_, 1, 7, "profile name 'Redis/3' is not a valid name", "image folder"));
}

TEST_F(profile_test, profile_name_cannot_start_with_a_dot) {
  EXPECT_FALSE(parse("name: ..\napp: hello\ncompartments: [{name: a}]\n"));
  EXPECT_TRUE(has_error(diags_, 1, 7, "profile name '..' is not a valid name"));
}

TEST_F(profile_test, app_must_be_a_single_value) {
  EXPECT_FALSE(parse("name: p\napp: [hello]\ncompartments: [{name: a}]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 6, "'app' must be a single value, found a list"));
}

TEST_F(profile_test, empty_compartments) {
  EXPECT_FALSE(parse("name: p\napp: hello\ncompartments: []\n"));
  EXPECT_TRUE(has_error(diags_, 3, 15, "'compartments' is empty", "`- name: core`"));
}

TEST_F(profile_test, compartments_without_value) {
  EXPECT_FALSE(parse("name: p\napp: hello\ncompartments:\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "'compartments' is empty"));
}

TEST_F(profile_test, compartments_must_be_a_list) {
  EXPECT_FALSE(parse("name: p\napp: hello\ncompartments: {name: a}\n"));
  EXPECT_TRUE(has_error(diags_, 3, 15, "'compartments' must be a list, found a map"));
}

TEST_F(profile_test, compartment_must_be_a_map) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\n    default: true\n  - b\n"));
  EXPECT_TRUE(
      has_error(diags_, 6, 5, "a compartment must be a map, found a single value", "`- name: <name>`"));
}

TEST_F(profile_test, compartment_without_name) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - isolation: mpk\n"));
  EXPECT_TRUE(has_error(diags_, 4, 5, "a compartment has no 'name'", "add `name: <name>`"));
}

TEST_F(profile_test, invalid_compartment_name) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: 2fast\n"));
  EXPECT_TRUE(has_error(diags_, 4, 11, "compartment name '2fast' is not a valid name"));
}

TEST_F(profile_test, compartment_name_shared_is_reserved) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: shared\n"));
  EXPECT_TRUE(has_error(diags_, 4, 11, "compartment name 'shared' is reserved for shared memory",
                        "choose another name"));
}

TEST_F(profile_test, compartment_defined_twice) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    default: true\n  - name: app\n"));
  EXPECT_TRUE(has_error(diags_, 6, 11, "compartment 'app' is defined twice", "line 4"));
}

TEST_F(profile_test, unknown_isolation_suggests_the_nearest) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    isolation: mkp\n"));
  EXPECT_TRUE(has_error(diags_, 5, 16, "unknown isolation 'mkp'",
                        "did you mean 'mpk'? valid values: none, mpk, process"));
}

TEST_F(profile_test, unknown_isolation_far_from_any) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    isolation: sgx\n"));
  EXPECT_TRUE(has_error(diags_, 5, 16, "unknown isolation 'sgx'", "valid values: none, mpk, process"));
}

TEST_F(profile_test, isolation_ept_is_reserved) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    isolation: ept\n"));
  EXPECT_TRUE(has_error(diags_, 5, 16,
                        "isolation 'ept' is reserved for a future KVM backend and not supported yet",
                        "`isolation: mpk` or `isolation: process`"));
}

TEST_F(profile_test, isolation_without_value) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    isolation:\n    libraries: []\n"));
  EXPECT_TRUE(has_error(diags_, 5, 5, "'isolation' has no value", "none, mpk, process"));
}

TEST_F(profile_test, unknown_hardening) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    hardening: [asan, ubsna]\n"));
  EXPECT_TRUE(has_error(diags_, 5, 23, "unknown hardening 'ubsna'", "did you mean 'ubsan'?"));
}

TEST_F(profile_test, hardening_listed_twice) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    hardening: [asan, ubsan, asan]\n"));
  EXPECT_TRUE(has_error(diags_, 5, 30, "hardening 'asan' is listed twice", "remove one"));
}

TEST_F(profile_test, hardening_must_be_a_list) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    hardening: asan\n"));
  EXPECT_TRUE(has_error(diags_, 5, 16, "'hardening' must be a list, found a single value",
                        "write `hardening: [asan]`"));
}

TEST_F(profile_test, library_item_must_be_a_single_value) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    libraries:\n      - net\n      - [vfs]\n"));
  EXPECT_TRUE(has_error(diags_, 7, 9, "each item of 'libraries' must be a single value, found a list"));
}

TEST_F(profile_test, default_must_be_true_or_false) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n    default: yes\n  - name: b\n"));
  EXPECT_TRUE(has_error(diags_, 5, 14, "'default' must be true or false, found 'yes'"));
}

TEST_F(profile_test, two_defaults_error_at_the_second) {
  EXPECT_FALSE(
      parse(std::string(kHead) + "  - name: app\n    default: true\n  - name: core\n    default: true\n"));
  EXPECT_TRUE(has_error(diags_, 7, 14, "two compartments are marked default", "'app' already is (line 5)"));
  ASSERT_EQ(diags_.all().size(), 2u);
  EXPECT_EQ(diags_.all()[1].level, yaml::severity::note);
  EXPECT_EQ(diags_.all()[1].pos.line, 5);
}

TEST_F(profile_test, no_default_with_two_compartments) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\n  - name: core\n    default: false\n"));
  EXPECT_TRUE(
      has_error(diags_, 3, 1, "no compartment is marked default", "mark one compartment `default: true`"));
}

TEST_F(profile_test, single_compartment_marked_not_default_is_still_the_default) {
  auto p = parse(std::string(kHead) + "  - name: all\n    default: false\n");
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_TRUE(p->compartments[0].is_default);
}

TEST_F(profile_test, unknown_stack_sharing) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\nsharing:\n  stack: dds\n"));
  EXPECT_TRUE(has_error(diags_, 6, 10, "unknown stack sharing 'dds'",
                        "did you mean 'dss'? valid values: dss, heap, shared"));
}

TEST_F(profile_test, sharing_must_be_a_map) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\nsharing: dss\n"));
  EXPECT_TRUE(
      has_error(diags_, 5, 10, "'sharing' must be a map, found a single value", "`sharing: {stack: dss}`"));
}

TEST_F(profile_test, unknown_key_in_sharing) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\nsharing: {stak: dss}\n"));
  EXPECT_TRUE(has_error(diags_, 5, 11, "unknown key 'stak' in 'sharing'", "did you mean 'stack'?"));
}

TEST_F(profile_test, unknown_mpk_gate) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\ngates: {mpk: heavy}\n"));
  EXPECT_TRUE(has_error(diags_, 5, 14, "unknown mpk gate 'heavy'", "valid values: full, light"));
}

TEST_F(profile_test, heap_mib_names_unknown_compartment) {
  EXPECT_FALSE(parse(
      std::string(kHead) +
      "  - name: app\n    default: true\n  - name: net\nmemory:\n  heap_mib:\n    app: 64\n    nett: 32\n"));
  EXPECT_TRUE(has_error(diags_, 10, 5, "heap_mib names unknown compartment 'nett'", "did you mean 'net'?"));
}

TEST_F(profile_test, heap_mib_must_be_a_positive_integer) {
  for (const char *bad : {"0", "-4", "12abc", "1.5", "+3", "x", "0x10"}) {
    diag_sink diags;
    EXPECT_FALSE(parse_profile(
        "p.yaml", std::string(kHead) + "  - name: app\nmemory: {heap_mib: {app: " + bad + "}}\n", diags));
    EXPECT_TRUE(has_error(diags, 5, 26, "heap_mib of 'app' must be a positive integer", "`app: 64`")) << bad;
  }
}

TEST_F(profile_test, heap_mib_too_large) {
  for (const char *big : {"1048577", "99999999999999999999999"}) {
    diag_sink diags;
    EXPECT_FALSE(parse_profile(
        "p.yaml", std::string(kHead) + "  - name: app\nmemory: {heap_mib: {app: " + big + "}}\n", diags));
    EXPECT_TRUE(has_error(diags, 5, 26, "heap_mib of 'app' is too large", "1 TiB")) << big;
  }
  EXPECT_TRUE(parse(std::string(kHead) + "  - name: app\nmemory: {heap_mib: {app: 1048576}}\n"))
      << dump(diags_);
}

TEST_F(profile_test, heap_mib_must_be_a_map) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: app\nmemory: {heap_mib: [64]}\n"));
  EXPECT_TRUE(has_error(diags_, 5, 20, "'heap_mib' must be a map, found a list"));
}

TEST_F(profile_test, anchors_and_aliases_are_followed) {
  auto p = parse(
      std::string(kHead) +
      "  - name: a\n    default: true\n    hardening: &h [asan, ubsan]\n  - name: b\n    hardening: *h\n");
  ASSERT_TRUE(p) << dump(diags_);
  EXPECT_EQ(p->compartments[1].hardenings, p->compartments[0].hardenings);
  EXPECT_EQ(p->compartments[1].hardening_item_pos[0].line, 6);  // where the list is written
}

TEST_F(profile_test, too_many_compartments) {
  std::string text = kHead;
  for (int i = 0; i < 65; ++i) text += "  - {name: c" + std::to_string(i) + "}\n";
  EXPECT_FALSE(parse(text));
  EXPECT_TRUE(has_error(diags_, 4, 3, "the profile has 65 compartments, more than 64", "merge"));
}

TEST_F(profile_test, too_long_list) {
  std::string items;
  for (int i = 0; i < 1025; ++i) items += "l" + std::to_string(i) + ", ";
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\n    libraries: [" + items + "]\n"));
  EXPECT_TRUE(has_error(diags_, 5, 16, "'libraries' has 1025 items, more than 1024"));
}

TEST_F(profile_test, yaml_syntax_error_has_its_position) {
  EXPECT_FALSE(parse("name: p\napp: hello\ncompartments:\n  - name: app\n   isolation: mpk\n"));
  EXPECT_TRUE(has_error(diags_, 5, 4, "YAML syntax error: end of sequence not found", "indentation"));
}

TEST_F(profile_test, yaml_syntax_error_illegal_map_value) {
  EXPECT_FALSE(parse("name: p\napp: hello\n  x: 1\n"));
  EXPECT_TRUE(has_error(diags_, 3, 4, "YAML syntax error: illegal map value"));
}

TEST_F(profile_test, syntax_error_in_flow_sequence) {
  EXPECT_FALSE(parse("name: p\napp: [hello\n"));
  EXPECT_TRUE(has_error(diags_, 3, 1, "YAML syntax error: end of sequence flow not found"));
}

TEST_F(profile_test, empty_profile) {
  EXPECT_FALSE(parse(""));
  EXPECT_TRUE(has_error(diags_, 0, 0, "the profile is empty"));
}

TEST_F(profile_test, profile_must_be_a_map) {
  EXPECT_FALSE(parse("just a string\n"));
  EXPECT_TRUE(has_error(diags_, 1, 1, "the profile must be a map, found a single value"));
}

TEST_F(profile_test, more_than_one_document) {
  EXPECT_FALSE(parse(std::string(kHead) + "  - name: a\n---\nname: q\n"));
  EXPECT_TRUE(has_error(diags_, 5, 1, "content after the end of the YAML document", "`---`"));
}

TEST_F(profile_test, trailing_content_after_a_flow_map) {
  // yaml-cpp's Load ignores it silently, and its LoadAll loops forever on it.
  std::string text = "{name: p, app: hello, compartments: [{name: a}]}, x";
  EXPECT_FALSE(parse(text));
  EXPECT_TRUE(has_error(diags_, 1, static_cast<int>(text.find(", x")) + 1,
                        "content after the end of the YAML document"));
}

TEST_F(profile_test, deep_flow_nesting_is_rejected) {
  EXPECT_FALSE(parse("name: " + std::string(5000, '[') + "\n"));
  EXPECT_TRUE(has_error(diags_, 1, 7 + 64, "nested deeper than 64 levels"));
}

TEST_F(profile_test, deep_block_nesting_is_rejected) {
  std::string text;
  for (int i = 0; i < 80; ++i) text += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
  EXPECT_FALSE(parse(text));
  EXPECT_TRUE(has_error(diags_, 65, 65, "nested deeper than 64 levels"));
  diag_sink dashes;
  std::string seq;
  for (int i = 0; i < 80; ++i) seq += "- ";
  EXPECT_FALSE(parse_profile("p.yaml", seq + "x\n", dashes));
  EXPECT_TRUE(has_error(dashes, 1, 129, "nested deeper than 64 levels"));
}

TEST_F(profile_test, brackets_in_quotes_and_comments_do_not_count) {
  std::string many(100, '[');
  auto p = parse("name: p # " + many + "\napp: \"" + many + "\"\ncompartments: ['" + many + "x']\n");
  EXPECT_FALSE(p);  // the compartment is a string, not a map
  EXPECT_TRUE(has_error(diags_, 3, 16, "a compartment must be a map"));
}

TEST_F(profile_test, odd_inputs_never_throw) {
  for (const char *text :
       {"[", "{", "&a [*a]", "compartments: &c [*c]", "? [a]\n: b", "*x", "!!binary AA",
        "name: p\napp: a\ncompartments: &x [{name: a, libraries: *x}]", "\t\t", "---\n---\n",
        "name: p\napp: a\ncompartments:\n  - &c {name: a, default: true}\n  - *c\n",
        "name: p\napp: a\ncompartments: [{name: a}]\nmemory: {heap_mib: {? [x] : 1}}"}) {
    diag_sink diags;
    EXPECT_FALSE(parse_profile("p.yaml", text, diags)) << text;
    EXPECT_TRUE(diags.has_errors()) << text;
  }
}

TEST(load_profile, missing_file) {
  diag_sink diags;
  EXPECT_FALSE(load_profile("/nonexistent/flex/p.yaml", diags));
  ASSERT_EQ(diags.error_count(), 1);
  EXPECT_NE(diags.all()[0].message.find("cannot open"), std::string::npos);
}

// --- validation against the library index ----------------------------------------------------------

library_index make_index() {
  library_index index;
  diag_sink diags;
  auto add = [&](std::string name, lib_kind kind, bool replicated = false) {
    lib_manifest lib;
    lib.name = name;
    lib.kind = kind;
    lib.replicated = replicated;
    lib.file = "/tree/" + name + "/lib.yaml";
    index.add(std::move(lib), diags);
  };
  add("hello", lib_kind::app);
  add("redis", lib_kind::app);
  for (const char *name : {"console", "net", "sched", "vfs", "ramfs", "time", "alloc"})
    add(name, lib_kind::libos);
  add("plat", lib_kind::libos, true);
  return index;
}

class validate_test : public profile_test {
 protected:
  // Parses (must succeed) and validates `text`.
  bool validate(std::string_view text) {
    auto p = parse(text);
    EXPECT_TRUE(p) << dump(diags_);
    return p && validate_profile(*p, index_, diags_);
  }
  library_index index_ = make_index();
};

TEST_F(validate_test, full_profile_is_valid) {
  EXPECT_TRUE(validate(kFull)) << dump(diags_);
  EXPECT_FALSE(diags_.has_errors());
}

TEST_F(validate_test, unknown_app_suggests_the_nearest_app) {
  EXPECT_FALSE(validate("name: p\napp: helo\ncompartments: [{name: a}]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 6, "unknown app 'helo'", "did you mean 'hello'?"));
}

TEST_F(validate_test, unknown_app_far_from_any_lists_the_apps) {
  EXPECT_FALSE(validate("name: p\napp: sqlite\ncompartments: [{name: a}]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 6, "unknown app 'sqlite'", "apps: hello, redis"));
}

// Under enforce hostfs reaches only the directories named at boot: an app placed beside hostfs that names
// no `hostfs_dir` (and reaches files through no posix FLEX_MOUNTS) gets a warning at its `app` line.
TEST_F(validate_test, an_app_beside_hostfs_that_names_no_directory_option_is_a_warning) {
  diag_sink added;
  for (const char *name : {"hostfs", "posix"}) {
    lib_manifest lib;
    lib.name = name;
    lib.kind = lib_kind::libos;
    lib.file = std::string("/tree/") + name + "/lib.yaml";
    index_.add(std::move(lib), added);
  }
  const std::string text = "name: p\napp: hello\ncompartments: [{name: a, libraries: [hello, vfs, hostfs]}]\n";
  auto warnings = [&] {
    std::string out;
    for (const yaml::diagnostic &d : diags_.all()) {
      if (d.level == yaml::severity::warning) out += d.message + " | " + d.hint + "\n";
    }
    return out;
  };
  EXPECT_TRUE(validate(text)) << dump(diags_);
  EXPECT_NE(warnings().find("app 'hello' names no `hostfs_dir`, so under `lockdown: enforce` hostfs reaches no "
                            "directory but FLEX_MOUNTS's | if the app takes its directory on its command line, add "
                            "`hostfs_dir: {option: --dir}`"),
            std::string::npos)
      << dump(diags_);
  EXPECT_EQ(diags_.all().front().pos.line, 2);
  // Not under log, not without hostfs, not for an app that names its option.
  for (const std::string &quiet : {text + "lockdown: log\n",
                                   std::string("name: p\napp: hello\ncompartments: [{name: a, libraries: [hello]}]\n")}) {
    diags_ = diag_sink{};
    EXPECT_TRUE(validate(quiet)) << dump(diags_);
    EXPECT_EQ(warnings(), "") << quiet;
  }
  lib_manifest hello = *index_.find("hello");
  hello.hostfs_dir_option = located{"--dir", {}};
  library_index named;
  for (const auto &[name, lib] : index_.all()) named.add(name == "hello" ? hello : lib, added);
  index_ = std::move(named);
  diags_ = diag_sink{};
  EXPECT_TRUE(validate(text)) << dump(diags_);
  EXPECT_EQ(warnings(), "");
}

// A program beside mpk domains is one itself; it mixes with no compartment process; its compartment stays
// in the main process.
TEST_F(validate_test, a_binary_profile_places_the_program_in_the_main_process_and_beside_mpk_in_a_domain) {
  lib_manifest binary;
  binary.name = "binary";
  binary.kind = lib_kind::app;
  binary.file = "/tree/binary/lib.yaml";
  diag_sink added;
  index_.add(std::move(binary), added);
  EXPECT_TRUE(validate("name: p\nbinary: /bin/busybox\ncompartments:\n  - {name: a, default: true, libraries: [binary]}\n"
                       "  - name: n\n    isolation: process\n    libraries: [net]\n"))
      << dump(diags_);
  diags_ = diag_sink{};
  EXPECT_TRUE(validate("name: p\nbinary: /bin/busybox\ncompartments:\n"
                       "  - {name: a, default: true, isolation: mpk, libraries: [binary]}\n"
                       "  - name: n\n    isolation: mpk\n    libraries: [net]\n"))
      << dump(diags_);
  // Beside an mpk domain, the program's compartment is one too.
  diags_ = diag_sink{};
  EXPECT_FALSE(validate("name: p\nbinary: /bin/busybox\ncompartments:\n  - {name: a, default: true, libraries: [binary]}\n"
                        "  - name: n\n    isolation: mpk\n    libraries: [net]\n"));
  EXPECT_TRUE(has_error(diags_, 4, 5, "compartment 'a' holds the program but is not an mpk domain", "isolation: mpk"));
  // No process beside mpk domains.
  diags_ = diag_sink{};
  EXPECT_FALSE(validate("name: p\nbinary: /bin/busybox\ncompartments:\n"
                        "  - {name: a, default: true, isolation: mpk, libraries: [binary]}\n"
                        "  - name: n\n    isolation: process\n    libraries: [net]\n"));
  EXPECT_TRUE(has_error(diags_, 6, 16, "compartment 'n' is a process in a profile that runs a binary beside mpk domains",
                        "relay"));
  // The program's own compartment stays in the main process, where it is linked at boot.
  diags_ = diag_sink{};
  EXPECT_FALSE(validate("name: p\nbinary: /bin/busybox\ncompartments:\n  - {name: n, default: true, libraries: [net]}\n"
                        "  - name: a\n    isolation: process\n    libraries: [binary]\n"));
  EXPECT_TRUE(has_error(diags_, 6, 16, "compartment 'a' holds the program and is a process of its own",
                        "linked at boot"));
}

TEST_F(validate_test, app_must_be_an_app) {
  EXPECT_FALSE(validate("name: p\napp: console\ncompartments: [{name: a}]\n"));
  EXPECT_TRUE(has_error(diags_, 2, 6, "'console' is a libOS library, not an app", "hello, redis"));
}

TEST_F(validate_test, unknown_library_suggests_the_nearest) {
  EXPECT_FALSE(validate(std::string(kHead) + "  - name: a\n    libraries: [console, nett]\n"));
  EXPECT_TRUE(has_error(diags_, 5, 26, "unknown library 'nett'", "did you mean 'net'?"));
}

TEST_F(validate_test, replicated_library_cannot_be_placed) {
  EXPECT_FALSE(validate(std::string(kHead) + "  - name: a\n    libraries:\n      - plat\n"));
  EXPECT_TRUE(has_error(diags_, 6, 9,
                        "library 'plat' is replicated into every compartment and cannot be placed",
                        "remove 'plat'"));
}

TEST_F(validate_test, library_in_two_compartments) {
  EXPECT_FALSE(validate(std::string(kHead) +
                        "  - name: app\n    libraries: [net]\n  - name: core\n    default: true\n"
                        "    libraries: [console, net]\n"));
  EXPECT_TRUE(has_error(diags_, 8, 26, "library 'net' is already placed in compartment 'app'", "line 5"));
}

TEST_F(validate_test, library_twice_in_one_compartment) {
  EXPECT_FALSE(validate(std::string(kHead) + "  - name: app\n    libraries: [net, net]\n"));
  EXPECT_TRUE(has_error(diags_, 5, 22, "library 'net' is already placed in compartment 'app'"));
}

TEST_F(validate_test, safestack_is_not_supported_yet) {
  EXPECT_FALSE(validate(std::string(kHead) + "  - name: app\n    hardening: [asan, safestack]\n"));
  EXPECT_TRUE(has_error(diags_, 5, 23, "hardening 'safestack' is not supported yet",
                        "remove it; supported: asan, ubsan, stack-protector, fortify"));
}

TEST_F(validate_test, cfi_is_not_supported_yet) {
  EXPECT_FALSE(validate(std::string(kHead) + "  - name: app\n    hardening:\n      - cfi\n"));
  EXPECT_TRUE(has_error(diags_, 6, 9, "hardening 'cfi' is not supported yet"));
}

// `count` compartments named c0.. with the given isolation; c0 is the default.
std::string many_compartments(int count, std::string_view iso, int process_every = 0) {
  std::string text = kHead;
  for (int i = 0; i < count; ++i) {
    bool process = process_every > 0 && i % process_every == process_every - 1;
    text += "  - name: c" + std::to_string(i) +
            "\n    isolation: " + (process ? "process" : std::string(iso)) + "\n";
    if (i == 0) text += "    default: true\n";
  }
  return text;
}

TEST_F(validate_test, twelve_mpk_compartments_fit) {
  EXPECT_TRUE(validate(many_compartments(kMaxMpkDomains, "mpk"))) << dump(diags_);
}

TEST_F(validate_test, thirteen_mpk_compartments_exceed_the_key_budget) {
  std::string text = many_compartments(13, "mpk");
  EXPECT_FALSE(validate(text));
  EXPECT_TRUE(has_error(diags_, line_of(text, "name: c12"), 5, "this profile needs 13 protection keys",
                        "merge compartments or move some to isolation: process"));
  EXPECT_NE(diags_.all()[0].message.find(
                "x86-64 offers 12 for compartments (16 keys, minus key 0, the shared key and the runtime's two keys)"),
            std::string::npos);
}

TEST_F(validate_test, none_compartments_count_when_one_is_mpk) {
  std::string text = many_compartments(15, "none");
  text.replace(text.find("isolation: none"), 15, "isolation: mpk ");
  EXPECT_FALSE(validate(text));
  EXPECT_TRUE(has_error(diags_, line_of(text, "name: c12"), 5, "needs 15 protection keys"));
}

TEST_F(validate_test, process_compartments_do_not_use_keys) {
  // 20 compartments, every fourth in its own process: 15 share the address space (12 may).
  std::string text = many_compartments(20, "mpk", 4);
  EXPECT_FALSE(validate(text));
  EXPECT_TRUE(has_error(diags_, line_of(text, "name: c16"), 5, "needs 15 protection keys"));
  diag_sink ok;
  auto p = parse_profile("p.yaml", many_compartments(16, "mpk", 4), ok);
  ASSERT_TRUE(p);
  EXPECT_TRUE(validate_profile(*p, index_, ok)) << dump(ok);
}

TEST_F(validate_test, no_key_budget_without_mpk) {
  EXPECT_TRUE(validate(many_compartments(20, "none"))) << dump(diags_);
}

TEST_F(validate_test, several_errors_are_all_reported) {
  EXPECT_FALSE(
      validate("name: p\napp: net\ncompartments:\n  - name: a\n    hardening: [cfi]\n"
               "    libraries: [plat, nope]\n"));
  EXPECT_EQ(diags_.error_count(), 4) << dump(diags_);
}

// `binary:` names an unmodified program instead of an app: its app is then `binary`, which runs it.
TEST(profile_binary, a_path_or_a_path_with_arguments) {
  diag_sink diags;
  auto p = parse_profile("p.yaml", "name: bb\nbinary: /bin/busybox\ncompartments:\n  - name: main\n    default: true\n", diags);
  ASSERT_TRUE(p) << dump(diags);
  ASSERT_TRUE(p->binary);
  EXPECT_EQ(p->binary->path.value, "/bin/busybox");
  EXPECT_TRUE(p->binary->args.empty());
  EXPECT_EQ(p->app.value, "binary");
  diag_sink d2;
  auto q = parse_profile("p.yaml",
                         "name: bb\nbinary:\n  path: /bin/busybox\n  args: [echo, \"two words\", \"\"]\n"
                         "compartments:\n  - name: main\n    default: true\n",
                         d2);
  ASSERT_TRUE(q) << dump(d2);
  EXPECT_EQ(q->binary->args, (std::vector<std::string>{"echo", "two words", ""}));
}

TEST(profile_binary, what_is_wrong_is_said_at_its_line) {
  const char *tail = "compartments:\n  - name: main\n    default: true\n";
  {
    diag_sink diags;
    parse_profile("p.yaml", std::string("name: bb\napp: hello\nbinary: /bin/busybox\n") + tail, diags);
    EXPECT_TRUE(has_error(diags, 3, 9, "names both an app and a binary", "keep `app:`"));
  }
  {
    diag_sink diags;
    parse_profile("p.yaml", std::string("name: bb\nbinary: bin/busybox\n") + tail, diags);
    EXPECT_TRUE(has_error(diags, 2, 9, "is not absolute", "absolute path"));
  }
  {
    diag_sink diags;
    parse_profile("p.yaml", std::string("name: bb\nbinary: /etc/hostname\n") + tail, diags);
    EXPECT_TRUE(has_error(diags, 2, 9, "/etc/hostname: not an ELF file", "x86-64 Linux executable"));
  }
  {
    diag_sink diags;
    parse_profile("p.yaml", std::string("name: bb\nbinary: {args: [x]}\n") + tail, diags);
    EXPECT_TRUE(has_error(diags, 2, 9, "'binary' has no 'path'"));
  }
}

}  // namespace
}  // namespace flex::build

