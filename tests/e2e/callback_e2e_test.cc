// Callbacks end to end: the ring app hands the ticker a pointer to on_tick (marked libticker_callback),
// which counts into the app's private data; the ticker calls it at once and, later, through a pointer it
// kept. Behind every kind of boundary the calls must enter the app's compartment (under MPK, touching the
// app's data with the ticker's rights would fault; in a process image, the count would land in the
// ticker's copy), and the app calling its own pointer must stay a plain call.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;

const fs::path kProfiles = source_dir() / "tests/e2e/fixtures/callback/profiles";

struct callback_case {
  const char *profile;
  const char *kind;       // of the ticker -> app boundary
  int crossings;          // gate calls counted core -> app: 100 + 10 callbacks (+1 for the entry into main)
  bool needs_pku;
};

class callback : public ::testing::TestWithParam<callback_case> {};

TEST_P(callback, pointers_handed_to_the_ticker_enter_the_apps_compartment) {
  const callback_case &c = GetParam();
  auto b = build_test_image(kProfiles / (std::string(c.profile) + ".yaml"), c.profile);
  ASSERT_EQ(b.status, 0) << b.out;

  auto image = nlohmann::json::parse(read(test_image(c.profile).parent_path() / "image.json"));
  ASSERT_EQ(image["callbacks"].size(), 1u) << image["callbacks"].dump();
  EXPECT_EQ(image["callbacks"][0]["function"], "on_tick");
  EXPECT_EQ(image["callbacks"][0]["from"], "ticker");
  EXPECT_EQ(image["callbacks"][0]["kind"], c.kind);
  EXPECT_EQ(image["callbacks"][0]["references"], std::string(c.kind) == "call" ? 0 : 3);

  if (c.needs_pku && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(test_image(c.profile).string() + " --gate-stats");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("ring: ticks 15051 sum 5050 fired 15050 own 15051"), std::string::npos) << r.out;
  if (c.crossings > 0) {
    EXPECT_NE(r.out.find("core -> app (" + std::string(c.kind) + "): " + std::to_string(c.crossings) + " calls"),
              std::string::npos)
        << r.out;
  } else {
    EXPECT_EQ(r.out.find("core -> app"), std::string::npos) << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(kinds, callback,
                         ::testing::Values(callback_case{"callback-none", "call", 0, false},
                                           callback_case{"callback-process", "process", 111, false},
                                           callback_case{"callback-mpk-full", "mpk-full", 110, true},
                                           callback_case{"callback-mpk-light", "mpk-light", 110, true},
                                           callback_case{"callback-mixed", "process", 110, true}),
                         [](const auto &info) { return param_name(info.param.profile); });

}  // namespace
}  // namespace flex::test
