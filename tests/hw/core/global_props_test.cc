#include "qdev_fixture.h"

namespace machina::test {
namespace {

TEST_F(QdevTest, GlobalPropertiesApplyToTypeAndSubtypes) {
  qdev_add_global_property({"test-fd-device", "fail-realize", "on"});
  auto d = add("test-fd-device", "g1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), "realize failed on purpose");
  auto sub = add("test-bridge", "g2");  // subtype of test-fd-device
  EXPECT_FALSE(sub.ok());
  // Properties given with the device win over globals.
  auto explicit_off = add("test-fd-device", "g3", {{"fail-realize", "off"}});
  EXPECT_TRUE(explicit_off.ok()) << explicit_off.message();
  EXPECT_TRUE(qdev_check_global_properties().ok());
  qdev_add_global_property({"no-such-device", "x", "1"});
  EXPECT_EQ(qdev_check_global_properties().message(),
            "Warning: global no-such-device.x has invalid class name");
}

}  // namespace
}  // namespace machina::test
