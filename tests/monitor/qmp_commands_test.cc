#include "monitor/qmp-commands.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace machina {
namespace {

Result<json> nothing(const json&, QmpContext&) {
  return json();
}

TEST(QmpCommandRegistry, AddFindRemove) {
  QmpCommandRegistry reg;
  EXPECT_TRUE(reg.add({"a-cmd", {}, nothing}).ok());
  EXPECT_FALSE(reg.add({"a-cmd", {}, nothing}).ok());
  EXPECT_FALSE(reg.add({"", {}, nothing}).ok());
  EXPECT_FALSE(reg.add({"no-handler", {}, nullptr}).ok());
  ASSERT_NE(reg.find("a-cmd"), nullptr);
  EXPECT_EQ(reg.find("a-cmd")->name, "a-cmd");
  EXPECT_EQ(reg.find("b"), nullptr);
  auto held = reg.find("a-cmd");
  EXPECT_TRUE(reg.remove("a-cmd"));
  EXPECT_FALSE(reg.remove("a-cmd"));
  EXPECT_EQ(reg.find("a-cmd"), nullptr);
  EXPECT_EQ(held->name, "a-cmd");  // still usable by whoever holds it
}

TEST(QmpCommandRegistry, GlobalHasCoreCommands) {
  auto names = QmpCommandRegistry::global().names();
  for (const char* n : {"qmp_capabilities", "query-version", "query-commands"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  EXPECT_TRUE(QmpCommandRegistry::global().find("qmp_capabilities")->negotiation);
  EXPECT_FALSE(QmpCommandRegistry::global().find("query-version")->negotiation);
}

TEST(QmpCheckArguments, OrderFollowsSchemaThenUnexpected) {
  QmpCommand c{"c", {{"x", QmpArgType::kInt}, {"y", QmpArgType::kString}}, nothing};
  // Missing 'x' is reported before the bad type of 'y' and the unexpected 'z'.
  EXPECT_EQ(qmp_check_arguments(c, json{{"y", 1}, {"z", 1}}).message(), "Parameter 'x' is missing");
  EXPECT_EQ(qmp_check_arguments(c, json{{"x", 1}, {"y", 1}, {"z", 1}}).message(),
            "Invalid parameter type for 'y', expected: string");
  EXPECT_EQ(qmp_check_arguments(c, json{{"x", 1}, {"y", ""}, {"z", 1}}).message(),
            "Parameter 'z' is unexpected");
  EXPECT_TRUE(qmp_check_arguments(c, json{{"x", -1}, {"y", ""}}).ok());
}

TEST(QmpCheckArguments, AnyAcceptsEverything) {
  QmpCommand c{"c", {{"v", QmpArgType::kAny}}, nothing};
  for (const json& v : {json(nullptr), json(1), json("s"), json::array(), json::object()}) {
    EXPECT_TRUE(qmp_check_arguments(c, json{{"v", v}}).ok());
  }
}

TEST(QmpVersionInfo, Shape) {
  QmpVersionInfo v;
  v.package = "machina 1.2.3";
  EXPECT_EQ(v.to_json(), json::parse(R"({"qemu": {"major": 7, "minor": 2, "micro": 0},
                                         "package": "machina 1.2.3"})"));
}

}  // namespace
}  // namespace machina
