// Space files: what loads, and the errors (file:line:col, with a hint) for what does not.
#include <gtest/gtest.h>

#include <algorithm>

#include "flex/explore/config.h"
#include "flex/explore/space.h"

namespace flex::explore {
namespace {

const std::filesystem::path kRoot = FLEX_SOURCE_DIR;

const char *kGood = R"(name: hello
app: hello
libraries: [hello, console]
max_compartments: 2
mechanisms: [none, process]
hardening:
  hello: [none, ubsan, asan+ubsan]
benchmark:
  command: "{image} > /dev/null"
  metric: {from: time}
question:
  goal: fastest
  require:
    - {separate: [hello, console], by: process}
    - {harden: hello, with: [ubsan]}
)";

// Replaces the first occurrence of `from` in the good space by `to`.
std::string with(const std::string &from, const std::string &to) {
  std::string text = kGood;
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

struct outcome {
  std::optional<space> s;
  std::string text;  // every diagnostic, rendered
};

outcome parse(const std::string &text) {
  yaml::diag_sink diags;
  outcome o;
  o.s = parse_space("s.yaml", text, kRoot, diags);
  for (const auto &d : diags.all()) o.text += yaml::render(d, false);
  return o;
}

// The good space offering `modes` (its `lockdown:` on line 8), with `requirement` added to its
// `require` list (on line 17).
std::string with_lockdown(const std::string &modes, const std::string &requirement = "") {
  std::string text = with("benchmark:", "lockdown: " + modes + "\nbenchmark:");
  if (!requirement.empty()) text += "    - " + requirement + "\n";
  return text;
}

void expect_error(const std::string &text, const std::string &where, const std::string &message,
                  const std::string &hint = "") {
  outcome o = parse(text);
  EXPECT_FALSE(o.s.has_value());
  EXPECT_NE(o.text.find("s.yaml:" + where + ": error: "), std::string::npos) << o.text;
  EXPECT_NE(o.text.find(message), std::string::npos) << o.text;
  if (!hint.empty()) EXPECT_NE(o.text.find(hint), std::string::npos) << o.text;
}

TEST(space, good_one_loads) {
  outcome o = parse(kGood);
  ASSERT_TRUE(o.s) << o.text;
  const space &s = *o.s;
  EXPECT_EQ(s.libraries, (std::vector<std::string>{"hello", "console"}));
  EXPECT_EQ(s.default_lib, 1);
  EXPECT_EQ(std::count(s.rest.begin(), s.rest.end(), "console"), 0);  // the rest: what else hello needs
  EXPECT_EQ(s.hardening[0].size(), 3u);
  EXPECT_EQ(s.hardening[1], std::vector<hardening_set>{0});
  EXPECT_EQ(hardening_text(s.hardening[0][2]), "asan+ubsan");
  ASSERT_EQ(s.q.separate.size(), 1u);
  EXPECT_EQ(s.q.separate[0].by, isolation::process);
  EXPECT_EQ(s.q.g, goal::fastest);
  EXPECT_FALSE(s.bench.metric.higher_is_better);
  EXPECT_EQ(s.lockdowns, std::vector<lockdown_mode>{lockdown_mode::enforce});  // no `lockdown:`
  EXPECT_TRUE(s.q.lockdown.empty());
}

TEST(space, lockdown_lists_the_modes_to_explore_weakest_first) {
  outcome o = parse(with_lockdown("[enforce, off]", "{lockdown: enforce}"));
  ASSERT_TRUE(o.s) << o.text;
  EXPECT_EQ(o.s->lockdowns, (std::vector<lockdown_mode>{lockdown_mode::off, lockdown_mode::enforce}));
  EXPECT_TRUE(o.s->offers(lockdown_mode::off));
  EXPECT_FALSE(o.s->offers(lockdown_mode::log));
  ASSERT_EQ(o.s->q.lockdown.size(), 1u);
  EXPECT_EQ(o.s->q.lockdown[0].at_least, lockdown_mode::enforce);
  EXPECT_EQ(o.s->q.lockdown[0].pos.line, 17);
  outcome all = parse(with_lockdown("[log, enforce, off]", "{lockdown: log}"));
  ASSERT_TRUE(all.s) << all.text;
  EXPECT_EQ(all.s->lockdowns,
            (std::vector<lockdown_mode>{lockdown_mode::off, lockdown_mode::log, lockdown_mode::enforce}));
  // Without `lockdown:` the space offers enforce, which any lockdown requirement accepts.
  outcome plain = parse(with("    - {harden", "    - {lockdown: log}\n    - {harden"));
  ASSERT_TRUE(plain.s) << plain.text;
  EXPECT_EQ(plain.s->q.lockdown.at(0).at_least, lockdown_mode::log);
  outcome weak = parse(with_lockdown("[off]", "{lockdown: off}"));
  ASSERT_TRUE(weak.s) << weak.text;
  EXPECT_EQ(weak.s->lockdowns, std::vector<lockdown_mode>{lockdown_mode::off});
}

TEST(space, lockdown_errors) {
  expect_error(with("benchmark:", "lockdwn: [off]\nbenchmark:"), "8:1", "unknown key 'lockdwn'",
               "did you mean 'lockdown'?");
  expect_error(with_lockdown("[off, enfroce]"), "8:17", "unknown lockdown mode 'enfroce'",
               "did you mean 'enforce'?");
  expect_error(with_lockdown("[]"), "8:11", "'lockdown' is empty", "remove it for [enforce]");
  expect_error(with_lockdown(""), "8:1", "'lockdown' is empty");
  expect_error(with_lockdown("[off, enforce, off]"), "8:26", "lockdown 'off' is listed twice",
               "remove one of them");
  expect_error(with_lockdown("off"), "8:11", "'lockdown' must be a list", "write `lockdown: [off]`");
  expect_error(with_lockdown("[off, [log]]"), "8:17", "each item of 'lockdown' must be a single value");
}

TEST(space, lockdown_requirements) {
  expect_error(with_lockdown("[off, enforce]", "{lockdown: enforse}"), "17:18",
               "unknown lockdown mode 'enforse'", "did you mean 'enforce'?");
  expect_error(with_lockdown("[off, log]", "{lockdown: enforce}"), "17:18",
               "no lockdown the space offers is as strong as 'enforce'",
               "add it to `lockdown` or ask for less");
  expect_error(with_lockdown("[off, enforce]", "{lockdown: enforce, by: mpk}"), "17:27",
               "'by' belongs to 'separate'");
  expect_error(with_lockdown("[off, enforce]", "{lockdown: enforce, with: [ubsan]}"), "17:27",
               "'with' belongs to 'harden'");
  expect_error(with_lockdown("[off, enforce]", "{lockdown: off, harden: hello, with: [ubsan]}"), "17:7",
               "exactly one of 'separate', 'harden' and 'lockdown'", "`- {lockdown: enforce}`");
  expect_error(with_lockdown("[off, enforce]", "{lockdown: [off, enforce]}"), "17:18",
               "'lockdown' must be a single value");
  expect_error(with_lockdown("[off, enforce]", "{lockdwn: off}"), "17:8", "unknown key 'lockdwn'",
               "did you mean 'lockdown'?");
}

TEST(space, shipped_spaces_load) {
  yaml::diag_sink diags;
  auto hello = load_space(kRoot / "explorer/spaces/hello.yaml", std::nullopt, diags);
  EXPECT_TRUE(hello) << (diags.all().empty() ? "" : yaml::render(diags.all()[0], false));
  // redis.yaml places sched and time: until those libraries exist it may fail, but only on them.
  yaml::diag_sink rd;
  auto redis = load_space(kRoot / "explorer/spaces/redis.yaml", std::nullopt, rd);
  if (!redis) {
    for (const auto &d : rd.all()) {
      if (d.level != yaml::severity::error) continue;
      bool missing = d.message == "unknown library 'sched'" || d.message == "unknown library 'time'" ||
                     d.message == "library 'sched' is not used by app 'redis'" ||
                     d.message == "library 'time' is not used by app 'redis'";
      EXPECT_TRUE(missing) << yaml::render(d, false);
    }
  } else {
    EXPECT_EQ(redis->bench.metric.from, metric_source::redis_benchmark);
  }
}

TEST(space, unknown_keys) {
  expect_error(with("libraries:", "librarys:"), "3:1", "unknown key 'librarys'", "did you mean 'libraries'?");
  expect_error(with("metric: {from: time}", "metric: {from: time, units: s}"), "10:24", "unknown key 'units'",
               "did you mean 'unit'?");
}

TEST(space, libraries) {
  expect_error(with("[hello, console]", "[hello, consol]"), "3:20", "unknown library 'consol'",
               "did you mean 'console'?");
  expect_error(with("[hello, console]", "[hello, plat]"), "3:20", "library 'plat' is replicated");
  expect_error(with("[hello, console]", "[hello, net]"), "3:20", "library 'net' is not used by app 'hello'");
  expect_error(with("[hello, console]", "[hello, hello]"), "3:20", "library 'hello' is listed twice");
  expect_error(with("app: hello", "app: helo"), "2:6", "unknown app 'helo'", "did you mean 'hello'?");
}

TEST(space, mechanisms_and_limits) {
  expect_error(with("[none, process]", "[none, mkp]"), "5:20", "unknown isolation mechanism 'mkp'",
               "did you mean 'mpk'?");
  expect_error(with("max_compartments: 2", "max_compartments: 3"), "4:19", "'max_compartments' must be a whole number");
}

TEST(space, hardening) {
  expect_error(with("[none, ubsan, asan+ubsan]", "[none, ubsan, cfi]"), "7:24", "hardening 'cfi' is not supported");
  expect_error(with("[none, ubsan, asan+ubsan]", "[none, ubsn]"), "7:17", "unknown hardening 'ubsn'",
               "did you mean 'ubsan'?");
  expect_error(with("[none, ubsan, asan+ubsan]", "[none, none]"), "7:17", "listed twice");
  expect_error(with("  hello: [none", "  net: [none"), "7:3", "library 'net' is not used by app 'hello'");
}

TEST(space, benchmark) {
  expect_error(with("\"{image} > /dev/null\"", "\"{imag} > /dev/null\""), "9:12", "unknown placeholder '{imag}'",
               "did you mean 'image'?");
  expect_error(with("{from: time}", "{from: redis-benchmark}"), "10:18", "metric 'redis-benchmark' needs a 'test'");
  expect_error(with("{from: time}", "{from: regex, pattern: 'x', better: higher}"), "10:34", "the pattern has no group");
  expect_error(with("  metric: {from: time}\n", "  metric: {from: time}\n  repetitions: {min: 5, max: 2}\n"),
               "11:16", "'max' (2) is below 'min' (5)");
}

TEST(space, question) {
  expect_error(with("goal: fastest", "goal: fastest\n  floor: 50%"), "13:3", "'floor' belongs to goal 'most-secure'");
  expect_error(with("goal: fastest", "goal: most-secure"), "12:9", "goal 'most-secure' needs a 'floor'");
  expect_error(with("goal: fastest", "goal: most-secure\n  floor: 150%"), "13:10", "above 100%");
  expect_error(with("[none, process]", "[none]"), "14:40", "no allowed mechanism is as strong as 'process'");
  expect_error(with("with: [ubsan]", "with: [fortify]"), "15:29", "no hardening choice of 'hello' includes 'fortify'");
  expect_error(with("{separate: [hello, console], by: process}", "{separate: [hello]}"), "14:18",
               "'separate' names two libraries");
  expect_error(with("{harden: hello, with: [ubsan]}", "{harden: hello, separate: [a, b]}"), "15:7",
               "exactly one of 'separate', 'harden' and 'lockdown'");
}

TEST(space, most_secure_floors) {
  outcome rel = parse(with("goal: fastest", "goal: most-secure\n  floor: 60%"));
  ASSERT_TRUE(rel.s) << rel.text;
  EXPECT_TRUE(rel.s->q.floor->relative);
  EXPECT_DOUBLE_EQ(rel.s->q.floor->value, 0.6);
  outcome abs = parse(with("goal: fastest", "goal: most-secure\n  floor: 0.25"));
  ASSERT_TRUE(abs.s) << abs.text;
  EXPECT_FALSE(abs.s->q.floor->relative);
}

}  // namespace
}  // namespace flex::explore

namespace flex::explore {
namespace {

TEST(profiles, every_configuration_is_a_profile_flexbuild_accepts) {
  outcome o = parse(with("[none, process]", "[none, mpk, process]"));
  ASSERT_TRUE(o.s) << o.text;
  yaml::diag_sink diags;
  build::library_index libs = build::load_library_index(kRoot, diags);
  ASSERT_FALSE(diags.has_errors());
  auto all = enumerate(*o.s);
  ASSERT_EQ(all.size(), 1u * 1 + 3 * 3);  // {hello console}: unhardened; {hello}{console}: 3 x 3
  int refused = 0;
  for (const configuration &c : all) {
    auto why = refusal(*o.s, c, libs);
    if (c.has_asan() && c.needs_mpk()) {
      ASSERT_TRUE(why) << c.label(*o.s);
      EXPECT_NE(why->find("asan"), std::string::npos);
      ++refused;
    } else {
      EXPECT_FALSE(why) << c.label(*o.s) << ": " << *why << "\n" << profile_yaml(*o.s, c);
    }
  }
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace flex::explore

namespace flex::explore {
namespace {

// The good space with every pass-through key, so each part of a configuration's hash is exercised.
std::string passthrough_space() {
  return with(
      "benchmark:",
      "sharing: {stack: heap}\ngates: {mpk: light}\nmemory: {heap_mib: {hello: 32, console: 8}}\nbenchmark:");
}

// A space without `lockdown:` keeps its configurations as they were before spaces could choose one:
// the same keys, hashes (result caches, profile names) and build folders, and byte-identical profiles.
TEST(profiles, a_space_without_lockdown_keeps_its_keys_hashes_and_profiles) {
  struct expected {
    const char *label, *key, *hash, *build_slot;
  };
  const std::vector<expected> kBefore = {
      {"{hello,console*}", "p=0,0,;m=none,;h=0,", "b10b056ff5", "e178729f85"},
      {"{hello}:none {console*}:none", "p=0,1,;m=none,none,;h=0,0,", "5b1c962104", "3bfc2bb6f6"},
      {"{hello}:none+ubsan {console*}:none", "p=0,1,;m=none,none,;h=2,0,", "b65defb956", "3bfc2bb6f6"},
      {"{hello}:none+asan+ubsan {console*}:none", "p=0,1,;m=none,none,;h=3,0,", "a4aded9def", "3bfc2bb6f6"},
      {"{hello}:process {console*}:none", "p=0,1,;m=process,none,;h=0,0,", "a0cfa97895", "4d59042561"},
      {"{hello}:process+ubsan {console*}:none", "p=0,1,;m=process,none,;h=2,0,", "a0bda665b7", "4d59042561"},
      {"{hello}:process+asan+ubsan {console*}:none", "p=0,1,;m=process,none,;h=3,0,", "3a095de05e",
       "4d59042561"},
  };
  outcome o = parse(passthrough_space());
  ASSERT_TRUE(o.s) << o.text;
  auto all = enumerate(*o.s);
  ASSERT_EQ(all.size(), kBefore.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].label(*o.s), kBefore[i].label);
    EXPECT_EQ(all[i].key, kBefore[i].key);
    EXPECT_EQ(all[i].hash, kBefore[i].hash) << kBefore[i].label;
    EXPECT_EQ(all[i].build_slot, kBefore[i].build_slot) << kBefore[i].label;
  }
  EXPECT_EQ(profile_yaml(*o.s, all[5]),
            "# {hello}:process+ubsan {console*}:none\n"
            "# Generated by flexexplore from s.yaml (configuration a0bda665b7).\n"
            "name: hello-a0bda665b7\n"
            "app: hello\n"
            "compartments:\n"
            "  - name: hello\n"
            "    isolation: process\n"
            "    hardening: [ubsan]\n"
            "    libraries: [hello]\n"
            "  - name: console\n"
            "    default: true\n"
            "    isolation: none\n"
            "    libraries: [console]\n"
            "sharing:\n"
            "  stack: heap\n"
            "gates:\n"
            "  mpk: light\n"
            "memory:\n"
            "  heap_mib: {console: 8, hello: 32}\n");
}

// Drops the comment lines: what flexbuild and the result cache compare.
std::string without_comments(const std::string &yaml) {
  std::string out;
  for (std::size_t at = 0; at < yaml.size();) {
    std::size_t end = yaml.find('\n', at);
    end = end == std::string::npos ? yaml.size() : end + 1;
    if (yaml[at] != '#') out += yaml.substr(at, end - at);
    at = end;
  }
  return out;
}

TEST(profiles, a_weaker_lockdown_is_written_labelled_and_read_back_by_flexbuild) {
  outcome plain = parse(with("[none, process]", "[none, mpk, process]"));
  std::string text = with("[none, process]", "[none, mpk, process]");
  text.replace(text.find("benchmark:"), 10, "lockdown: [off, log, enforce]\nbenchmark:");
  outcome o = parse(text);
  ASSERT_TRUE(plain.s) << plain.text;
  ASSERT_TRUE(o.s) << o.text;
  yaml::diag_sink diags;
  build::library_index libs = build::load_library_index(kRoot, diags);
  ASSERT_FALSE(diags.has_errors());
  auto before = enumerate(*plain.s);
  auto all = enumerate(*o.s);
  ASSERT_EQ(all.size(), 3 * before.size());
  for (const configuration &c : all) {
    const std::string yaml = profile_yaml(*o.s, c);
    const std::string mode(build::to_string(c.lockdown));
    EXPECT_NE(c.label(*o.s).find(" lockdown=" + mode), std::string::npos) << c.label(*o.s);
    EXPECT_EQ(yaml.find("\nlockdown: ") != std::string::npos, c.lockdown != lockdown_mode::enforce) << yaml;
    if (c.lockdown != lockdown_mode::enforce)
      EXPECT_NE(yaml.find("\nlockdown: " + mode + "\n"), std::string::npos);
    yaml::diag_sink read;
    auto p = build::parse_profile("p.yaml", yaml, read);
    ASSERT_TRUE(p) << yaml;
    EXPECT_EQ(p->lockdown, c.lockdown);
    // flexbuild's checks accept every lockdown; only asan under mpk is refused, as before.
    EXPECT_EQ(refusal(*o.s, c, libs).has_value(), c.has_asan() && c.needs_mpk()) << c.label(*o.s);
  }
  // Enforce: the profile of the space without `lockdown:` but for the label comment, so its cached
  // results count.
  for (std::size_t i = 0; i < before.size(); ++i) {
    const configuration &enforce = all[3 * i + 2];
    EXPECT_EQ(enforce.hash, before[i].hash);
    EXPECT_EQ(without_comments(profile_yaml(*o.s, enforce)),
              without_comments(profile_yaml(*plain.s, before[i])));
  }
  auto off = std::find_if(all.begin(), all.end(), [](const configuration &c) {
    return c.blocks() == 2 && c.iso[0] == isolation::process && c.hard[0] == 0 &&
           c.lockdown == lockdown_mode::off;
  });
  ASSERT_NE(off, all.end());
  EXPECT_EQ(off->label(*o.s), "{hello}:process {console*}:none lockdown=off");
}

}  // namespace
}  // namespace flex::explore
