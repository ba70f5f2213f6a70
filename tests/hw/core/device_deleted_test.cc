// The DEVICE_DELETED contract, each case its own test.
#include <dirent.h>

#include <climits>

#include "qdev_fixture.h"

namespace machina::test {

bool process_has_open(const std::string& path) {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return false;
  char target[PATH_MAX];
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = 0;
    if (path == target) found = true;
  }
  ::closedir(d);
  return found;
}

namespace {

TEST_F(QdevTest, EventOnlyAfterHostFdIsClosed) {
  std::string file = temp_file("fd");
  bool checked = false;
  sink.on_event = [&](const RecordingSink::Event& e) {
    EXPECT_EQ(e.id, "disk0");
    EXPECT_EQ(e.path, "/machine/peripheral/disk0");
    EXPECT_FALSE(process_has_open(file)) << "DEVICE_DELETED sent while the fd is still open";
    checked = true;
  };
  auto d = add("test-fd-device", "disk0", {{"file", file}});
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_TRUE(process_has_open(file));
  ASSERT_TRUE(qdev_device_del("disk0", 0).ok());
  EXPECT_TRUE(checked);
  EXPECT_EQ(sink.deleted.size(), 1u);
  ::unlink(file.c_str());
}

TEST_F(QdevTest, InFlightReferenceDelaysEvent) {
  auto d = add("test-fd-device", "disk1");
  ASSERT_TRUE(d.ok());
  Ref<Device> in_flight(d.value());  // a request still being processed
  ASSERT_TRUE(qdev_device_del("disk1", 0).ok());
  EXPECT_TRUE(sink.deleted.empty());
  EXPECT_EQ(in_flight->lifecycle(), DeviceLifecycle::Unparented);
  EXPECT_EQ(container_get("/machine/peripheral")->child("disk1"), nullptr);  // id is free
  in_flight.reset();  // the request completes
  ASSERT_EQ(sink.deleted.size(), 1u);
  EXPECT_EQ(sink.deleted[0].id, "disk1");
  EXPECT_EQ(sink.deleted[0].path, "/machine/peripheral/disk1");
}

TEST_F(QdevTest, ExactlyOnce) {
  auto d = add("test-fd-device", "disk2");
  ASSERT_TRUE(d.ok());
  Ref<Device> ref(d.value());
  ASSERT_TRUE(qdev_device_del("disk2", 0).ok());
  // A second request finds nothing; unparent again is a no-op.
  Status again = qdev_device_del("disk2", 0);
  EXPECT_EQ(again.error().cls, ErrorClass::DeviceNotFound);
  EXPECT_EQ(again.message(), "Device 'disk2' not found");
  ref->unparent();
  ref.reset();
  EXPECT_EQ(sink.count_for("/machine/peripheral/disk2"), 1);
  EXPECT_EQ(sink.deleted.size(), 1u);
}

TEST_F(QdevTest, NeverForDeviceWhoseRealizeFailed) {
  auto d = add("test-fd-device", "bad0", {{"fail-realize", "on"}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), "realize failed on purpose");
  EXPECT_TRUE(sink.deleted.empty());
  EXPECT_EQ(container_get("/machine/peripheral")->child("bad0"), nullptr);  // id free again
  auto again = add("test-fd-device", "bad0");
  EXPECT_TRUE(again.ok());
}

TEST_F(QdevTest, NeverForDeviceNeverRealized) {
  Ref<Object> o = std::move(object_new("test-fd-device").value());
  ASSERT_TRUE(container_get("/machine/peripheral")->add_child("unreal", o.get()).ok());
  o->unparent();
  o.reset();
  EXPECT_TRUE(sink.deleted.empty());
}

TEST_F(QdevTest, ChildEventBeforeParentEvent) {
  auto br = add("test-bridge", "br0");
  ASSERT_TRUE(br.ok()) << br.message();
  Device* bridge = br.value();
  ASSERT_EQ(bridge->child_buses().size(), 1u);
  // The bridge's own child device (like virtio-blk-pci's virtio-backend), without an id.
  Ref<Object> child = std::move(object_new("test-fd-device").value());
  auto* cdev = static_cast<Device*>(child.get());
  ASSERT_TRUE(bridge->add_child("backend", cdev).ok());
  cdev->attach_to_bus(bridge->child_buses()[0]);
  ASSERT_TRUE(cdev->realize().ok());
  child.reset();
  ASSERT_TRUE(qdev_device_del("br0", 0).ok());
  ASSERT_EQ(sink.deleted.size(), 2u);
  EXPECT_EQ(sink.deleted[0].id, std::nullopt);
  EXPECT_EQ(sink.deleted[0].path, "/machine/peripheral/br0/backend");
  EXPECT_EQ(sink.deleted[1].id, "br0");
  EXPECT_EQ(sink.deleted[1].path, "/machine/peripheral/br0");
}

TEST_F(QdevTest, ClaimedBackendRefusesDeletionUntilEvent) {
  TestBackend backend("disk0");
  current_backend() = &backend;
  bool checked = false;
  sink.on_event = [&](const RecordingSink::Event&) {
    EXPECT_TRUE(backend.del().ok()) << "backend still claimed when DEVICE_DELETED is sent";
    checked = true;
  };
  auto d = add("test-fd-device", "vd0", {{"claim", "on"}});
  ASSERT_TRUE(d.ok()) << d.message();
  Ref<Device> in_flight(d.value());
  Status busy = backend.del();
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.message(), "Node 'disk0' is busy: in use by device 'vd0'");
  ASSERT_TRUE(qdev_device_del("vd0", 0).ok());
  EXPECT_FALSE(backend.del().ok());  // unplugged but not finalized: still claimed
  in_flight.reset();
  EXPECT_TRUE(checked);
  EXPECT_TRUE(backend.del().ok());
}

TEST_F(QdevTest, SecondClaimOnBackendRefused) {
  TestBackend backend("disk9");
  current_backend() = &backend;
  ASSERT_TRUE(add("test-fd-device", "c1", {{"claim", "on"}}).ok());
  auto second = add("test-fd-device", "c2", {{"claim", "on"}});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.message(), "Node 'disk9' is busy: in use by device 'c1'");
  EXPECT_TRUE(sink.deleted.empty());           // c2 was never realized
  ASSERT_TRUE(qdev_device_del("c1", 0).ok());  // before the backend goes away
}

TEST_F(QdevTest, CooperativeUnplugWaitsForGuest) {
  controller.cooperative = true;
  auto d = add("test-fd-device", "hp0");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(qdev_device_del("hp0", 0).ok());
  EXPECT_TRUE(sink.deleted.empty());
  EXPECT_EQ(d.value()->lifecycle(), DeviceLifecycle::UnplugPending);
  EXPECT_TRUE(d.value()->realized());  // fully working until the guest agrees
  Status again = qdev_device_del("hp0", 0);
  EXPECT_EQ(again.message(), "Device hp0 is already in the process of unplug");
  controller.guest_ejects(*d.value());
  ASSERT_EQ(sink.deleted.size(), 1u);
  EXPECT_EQ(sink.deleted[0].id, "hp0");
}

TEST_F(QdevTest, ExpiredUnplugRequestMayBeRetried) {
  controller.cooperative = true;
  controller.expiry_ms = 5000;
  auto d = add("test-fd-device", "hp1");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(qdev_device_del("hp1", 0).ok());
  EXPECT_FALSE(qdev_device_del("hp1", 4999).ok());
  EXPECT_TRUE(qdev_device_del("hp1", 5000).ok());
  EXPECT_EQ(controller.pending.size(), 2u);
}

}  // namespace
}  // namespace machina::test
