#include "flex/yaml/yaml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flex::yaml {
namespace {

const std::string kFile = "f.yaml";

// Every diagnostic, rendered without its source line: "f.yaml:2:3: error: ...\n  hint: ...\n".
std::string rendered(const diag_sink &diags) {
  std::string out;
  for (const diagnostic &d : diags.all()) out += render(d, false);
  return out;
}

// A text that must parse; the test stops where it does not.
YAML::Node document(const std::string &text) {
  diag_sink diags;
  auto root = parse_document(kFile, text, diags);
  EXPECT_TRUE(root.has_value()) << rendered(diags);
  return root.value_or(YAML::Node());
}

// The entries of `text`'s top-level map, read with `rules`; what was wrong lands in `diags`.
std::optional<std::vector<entry>> top_map(const std::string &text, const map_rules &rules, diag_sink &diags) {
  return read_map(document(text), {kFile, 1, 1}, rules, diags);
}

// The one entry of a one-key document, read with any key allowed.
entry only_entry(const std::string &text) {
  diag_sink diags;
  auto entries = top_map(text, {"the file", {}, ""}, diags);
  EXPECT_TRUE(entries && entries->size() == 1) << rendered(diags);
  return entries && !entries->empty() ? entries->front() : entry{};
}

const std::vector<std::string> kIsolations = {"none", "mpk", "process"};

TEST(parse_document, empty_text_is_a_null_node) {
  diag_sink diags;
  auto root = parse_document(kFile, "", diags);
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->IsNull());
  EXPECT_TRUE(diags.all().empty());
}

TEST(parse_document, syntax_error_names_the_place_and_how_to_fix_it) {
  diag_sink diags;
  EXPECT_FALSE(parse_document(kFile, "name: x\napp: [hello\n", diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:3:1: error: YAML syntax error: end of sequence flow not found\n"
            "  hint: check the indentation, colons, quotes and brackets here\n");
}

TEST(parse_document, a_second_document_is_refused_where_it_starts) {
  diag_sink diags;
  EXPECT_FALSE(parse_document(kFile, "name: x\n---\napp: hello\n", diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:2:1: error: content after the end of the YAML document\n"
            "  hint: a file holds one document: remove this (and any `---` before it)\n");
}

TEST(parse_document, flow_nesting_past_the_limit_is_refused_at_the_first_bracket_too_deep) {
  diag_sink diags;
  EXPECT_FALSE(parse_document(kFile, "a: " + std::string(kMaxNesting + 1, '['), diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:" + std::to_string(3 + kMaxNesting + 1) + ": error: nested deeper than 64 levels\n" +
                "  hint: flatten the structure; lib.yaml files and profiles need only a few levels\n");
}

TEST(parse_document, flow_nesting_at_the_limit_parses) {
  diag_sink diags;
  std::string text = std::string(kMaxNesting, '[') + std::string(kMaxNesting, ']');
  EXPECT_TRUE(parse_document(kFile, text, diags)) << rendered(diags);
  EXPECT_FALSE(diags.has_errors());
}

TEST(parse_document, block_nesting_past_the_limit_is_refused_on_its_line) {
  std::string text;
  for (int level = 0; level <= kMaxNesting; ++level) text += std::string(level, ' ') + "k:\n";
  diag_sink diags;
  EXPECT_FALSE(parse_document(kFile, text, diags));
  ASSERT_EQ(diags.all().size(), 1u);
  EXPECT_EQ(diags.all()[0].pos.line, kMaxNesting + 1);
  EXPECT_EQ(diags.all()[0].pos.column, kMaxNesting + 1);
  EXPECT_EQ(diags.all()[0].message, "nested deeper than 64 levels");
}

TEST(parse_document, brackets_inside_quotes_and_comments_do_not_nest) {
  std::string deep(kMaxNesting + 1, '[');
  diag_sink diags;
  auto root = parse_document(kFile, "a: '" + deep + "'\nb: \"" + deep + "\"  # " + deep + "\n", diags);
  ASSERT_TRUE(root) << rendered(diags);
  EXPECT_EQ((*root)["a"].Scalar(), deep);
}

TEST(pos_of, is_one_based) {
  YAML::Node root = document("a:\n  b: value\n");
  source_pos pos = pos_of(root["a"]["b"], {kFile, 9, 9});
  EXPECT_EQ(pos.file, kFile);
  EXPECT_EQ(pos.line, 2);
  EXPECT_EQ(pos.column, 6);
}

TEST(pos_of, null_and_missing_nodes_take_the_fallback) {
  YAML::Node root = document("a:\n");
  for (const YAML::Node &node : {YAML::Node(root["a"]), YAML::Node(root["missing"])}) {
    source_pos pos = pos_of(node, {kFile, 7, 3});
    EXPECT_EQ(pos.line, 7);
    EXPECT_EQ(pos.column, 3);
  }
}

TEST(describe, names_the_kind_of_node_found) {
  YAML::Node root = document("list: [a]\nmap: {a: 1}\nvalue: x\nempty:\n");
  EXPECT_EQ(describe(root["list"]), "a list");
  EXPECT_EQ(describe(root["map"]), "a map");
  EXPECT_EQ(describe(root["value"]), "a single value");
  EXPECT_EQ(describe(root["empty"]), "nothing");
  EXPECT_EQ(describe(root["missing"]), "nothing");
}

TEST(read_map, keeps_entries_in_the_order_written_with_their_positions) {
  diag_sink diags;
  auto entries = top_map("zeta: 1\nalpha:  [x]\nnone:\n", {"the file", {}, ""}, diags);
  ASSERT_TRUE(entries);
  EXPECT_FALSE(diags.has_errors());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].key, "zeta");
  EXPECT_EQ((*entries)[1].key, "alpha");
  EXPECT_EQ((*entries)[1].key_pos.line, 2);
  EXPECT_EQ((*entries)[1].key_pos.column, 1);
  EXPECT_EQ((*entries)[1].pos.line, 2);
  EXPECT_EQ((*entries)[1].pos.column, 9);
  // A null value has no mark of its own: it points at its key.
  EXPECT_EQ((*entries)[2].pos.line, 3);
  EXPECT_EQ((*entries)[2].pos.column, 1);
}

TEST(read_map, unknown_key_is_reported_with_the_nearest_known_one_and_left_out) {
  diag_sink diags;
  auto entries = top_map("name: app\nisolaton: mpk\n", {"a compartment", {"name", "isolation"}, ""}, diags);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].key, "name");
  EXPECT_EQ(rendered(diags),
            "f.yaml:2:1: error: unknown key 'isolaton' in a compartment\n"
            "  hint: did you mean 'isolation'?\n");
}

TEST(read_map, unknown_key_far_from_every_known_one_lists_the_valid_keys) {
  diag_sink diags;
  top_map("colour: red\n", {"a compartment", {"name", "isolation"}, ""}, diags);
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:1: error: unknown key 'colour' in a compartment\n"
            "  hint: valid keys: name, isolation\n");
}

TEST(read_map, duplicate_key_is_reported_at_the_second_and_the_first_is_kept) {
  diag_sink diags;
  auto entries = top_map("name: a\napp: x\nname: b\n", {"the profile", {}, ""}, diags);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].value.Scalar(), "a");
  EXPECT_EQ(rendered(diags),
            "f.yaml:3:1: error: duplicate key 'name' in the profile\n"
            "  hint: remove one of them; the first is on line 1\n");
}

TEST(read_map, key_that_is_not_a_plain_name_is_reported) {
  diag_sink diags;
  auto entries = top_map("? [a, b]\n: 1\nok: 2\n", {"the profile", {}, ""}, diags);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:3: error: keys in the profile must be plain names, found a list\n"
            "  hint: write `name: value`\n");
}

TEST(read_map, a_list_is_not_a_map_and_the_shape_hint_says_how_to_write_it) {
  diag_sink diags;
  YAML::Node root = document("sharing: [dss]\n");
  EXPECT_FALSE(read_map(root["sharing"], {kFile, 1, 1},
                        {"'sharing'", {"stack"}, "write `sharing: {stack: dss}`"}, diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:10: error: 'sharing' must be a map, found a list\n"
            "  hint: write `sharing: {stack: dss}`\n");
}

TEST(read_map, null_is_an_empty_map) {
  diag_sink diags;
  auto entries =
      read_map(document("sharing:\n")["sharing"], {kFile, 1, 1}, {"'sharing'", {"stack"}, ""}, diags);
  ASSERT_TRUE(entries);
  EXPECT_TRUE(entries->empty());
  EXPECT_TRUE(diags.all().empty());
}

TEST(find, returns_the_entry_for_a_key_or_nothing) {
  diag_sink diags;
  auto entries = top_map("name: a\napp: b\n", {"the profile", {}, ""}, diags);
  ASSERT_TRUE(entries);
  const entry *app = find(*entries, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->value.Scalar(), "b");
  EXPECT_EQ(find(*entries, "compartments"), nullptr);
}

TEST(read_scalar, gives_the_value_and_where_it_is) {
  diag_sink diags;
  auto v = read_scalar(only_entry("app:   hello\n"), "", diags);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->value, "hello");
  EXPECT_EQ(v->pos.line, 1);
  EXPECT_EQ(v->pos.column, 8);
  // A quoted empty string is a value, not a missing one.
  EXPECT_EQ(read_scalar(only_entry("app: ''\n"), "", diags)->value, "");
  EXPECT_FALSE(diags.has_errors());
}

TEST(read_scalar, missing_value_is_reported_at_the_key_with_the_hint) {
  diag_sink diags;
  EXPECT_FALSE(read_scalar(only_entry("\napp:\n"), "write `app: hello`", diags));
  EXPECT_EQ(rendered(diags), "f.yaml:2:1: error: 'app' has no value\n  hint: write `app: hello`\n");
}

TEST(read_scalar, list_is_reported_at_the_value) {
  diag_sink diags;
  EXPECT_FALSE(read_scalar(only_entry("app: [a, b]\n"), "write `app: hello`", diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:6: error: 'app' must be a single value, found a list\n  hint: write `app: hello`\n");
}

TEST(read_bool, takes_yaml_1_2_booleans_only) {
  diag_sink diags;
  for (const char *t : {"true", "True", "TRUE"}) {
    EXPECT_EQ(read_bool(only_entry(std::string("default: ") + t), diags), true) << t;
  }
  for (const char *f : {"false", "False", "FALSE"}) {
    EXPECT_EQ(read_bool(only_entry(std::string("default: ") + f), diags), false) << f;
  }
  EXPECT_FALSE(diags.has_errors());
  EXPECT_FALSE(read_bool(only_entry("default: yes\n"), diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:10: error: 'default' must be true or false, found 'yes'\n"
            "  hint: write `default: true` or `default: false`\n");
}

TEST(read_scalar_list, gives_each_item_with_its_position) {
  diag_sink diags;
  auto items = read_scalar_list(only_entry("libraries: [net,  vfs]\n"), diags);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1].value, "vfs");
  EXPECT_EQ((*items)[1].pos.line, 1);
  EXPECT_EQ((*items)[1].pos.column, 19);
  EXPECT_TRUE(read_scalar_list(only_entry("libraries:\n"), diags)->empty());
  EXPECT_FALSE(diags.has_errors());
}

TEST(read_scalar_list, single_value_is_not_a_list_and_the_hint_shows_it_as_one) {
  diag_sink diags;
  EXPECT_FALSE(read_scalar_list(only_entry("libraries: net\n"), diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:12: error: 'libraries' must be a list, found a single value\n"
            "  hint: write `libraries: [net]`\n");
}

TEST(read_scalar_list, bad_items_are_reported_and_left_out) {
  diag_sink diags;
  auto items = read_scalar_list(only_entry("libraries:\n  - net\n  -\n  - [a]\n  - vfs\n"), diags);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].value, "net");
  EXPECT_EQ((*items)[1].value, "vfs");
  EXPECT_EQ(rendered(diags),
            "f.yaml:2:3: error: empty item in 'libraries'\n"
            "  hint: remove the empty item\n"
            "f.yaml:4:5: error: each item of 'libraries' must be a single value, found a list\n"
            "  hint: write one name per item: `libraries: [a, b]`\n");
}

TEST(read_scalar_list, more_items_than_the_limit_are_refused) {
  auto list_of = [](std::size_t n) {
    std::string text = "libraries: [";
    for (std::size_t i = 0; i < n; ++i) text += (i ? ", l" : "l") + std::to_string(i);
    return text + "]\n";
  };
  diag_sink diags;
  auto at_limit = read_scalar_list(only_entry(list_of(kMaxListItems)), diags);
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->size(), kMaxListItems);
  EXPECT_FALSE(read_scalar_list(only_entry(list_of(kMaxListItems + 1)), diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:1:12: error: 'libraries' has 1025 items, more than 1024\n  hint: shorten the list\n");
}

TEST(match_enum, gives_the_index_of_a_valid_value) {
  diag_sink diags;
  EXPECT_EQ(match_enum({"process", {kFile, 1, 1}}, "isolation", kIsolations, diags), 2u);
  EXPECT_FALSE(diags.has_errors());
}

TEST(match_enum, unknown_value_suggests_the_nearest_and_lists_the_valid_ones) {
  diag_sink diags;
  EXPECT_FALSE(match_enum({"mkp", {kFile, 4, 16}}, "isolation", kIsolations, diags));
  EXPECT_FALSE(match_enum({"kvm", {kFile, 5, 16}}, "isolation", kIsolations, diags));
  EXPECT_EQ(rendered(diags),
            "f.yaml:4:16: error: unknown isolation 'mkp'\n"
            "  hint: did you mean 'mpk'? valid values: none, mpk, process\n"
            "f.yaml:5:16: error: unknown isolation 'kvm'\n"
            "  hint: valid values: none, mpk, process\n");
}

TEST(suggest, offers_a_close_candidate_else_lists_them_all) {
  EXPECT_EQ(suggest("rediss", {"net", "redis"}, "known libraries"), "did you mean 'redis'?");
  EXPECT_EQ(suggest("colour", {"net", "redis"}, "known libraries"), "known libraries: net, redis");
  EXPECT_EQ(suggest("x", {}, "apps"), "apps: none");
}

TEST(join, separates_items_with_commas) {
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(join({"a"}), "a");
  EXPECT_EQ(join({"a", "b", "c"}), "a, b, c");
}

TEST(quote, escapes_control_characters_and_shortens_long_values) {
  EXPECT_EQ(quote("net"), "'net'");
  EXPECT_EQ(quote(""), "''");
  EXPECT_EQ(quote(std::string("a\nb\tc\x01\x7f", 7)), "'a\\nb\\tc\\x01\\x7f'");
  EXPECT_EQ(quote(std::string(70, 'x')), "'" + std::string(64, 'x') + "...'");
  EXPECT_EQ(quote(std::string(64, 'x')), "'" + std::string(64, 'x') + "'");
}

TEST(is_name, takes_lower_case_names_starting_with_a_letter) {
  for (const char *ok : {"net", "net2", "ring_buffer", "a"}) EXPECT_TRUE(is_name(ok)) << ok;
  for (const char *bad : {"", "Net", "2net", "_net", "ring-buffer", "net "})
    EXPECT_FALSE(is_name(bad)) << bad;
}

TEST(is_c_identifier, takes_c_identifiers) {
  for (const char *ok : {"net_recv", "_start", "Net2"}) EXPECT_TRUE(is_c_identifier(ok)) << ok;
  for (const char *bad : {"", "2net", "net-recv", "net.recv"}) EXPECT_FALSE(is_c_identifier(bad)) << bad;
}

}  // namespace
}  // namespace flex::yaml
