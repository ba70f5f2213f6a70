// QMP commands of the real binary, driven the way QEMU's qtest client drives them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <set>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

const char* kDevices =
    "-M none -m 16M -device machina-testdev-timer,id=t0 -device machina-testdev-gpio,id=g0";

class QmpCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<QTestMachine>(kDevices);
    ASSERT_TRUE(m_->ok()) << m_->error();
  }
  void TearDown() override {
    if (m_->ok() && m_->child().running()) m_->quit();
  }
  json ret(const std::string& cmd, const json& args = json()) {
    json r = m_->qmp(cmd, args);
    EXPECT_TRUE(r.contains("return")) << cmd << " " << args.dump() << " -> " << r.dump();
    return r.contains("return") ? r["return"] : json();
  }
  std::unique_ptr<QTestMachine> m_;
};

bool has_name(const json& list, const std::string& name) {
  if (!list.is_array()) return false;
  for (const json& e : list) {
    if (e.is_object() && e.value("name", "") == name) return true;
  }
  return false;
}

TEST_F(QmpCommandsTest, QueryVersion) {
  json v = ret("query-version");
  EXPECT_EQ(v["qemu"], (json{{"major", 7}, {"minor", 2}, {"micro", 0}}));
  EXPECT_EQ(v["package"].get<std::string>().rfind("machina", 0), 0u);
}

TEST_F(QmpCommandsTest, QueryCommandsListsTheCoreSet) {
  json cmds = ret("query-commands");
  ASSERT_TRUE(cmds.is_array());
  for (const char* name : {"qmp_capabilities",
                           "query-version",
                           "query-commands",
                           "query-status",
                           "query-name",
                           "query-target",
                           "query-machines",
                           "query-kvm",
                           "query-chardev",
                           "qom-list",
                           "qom-get",
                           "qom-set",
                           "qom-list-types",
                           "qom-list-properties",
                           "device-list-properties",
                           "device_add",
                           "device_del",
                           "object-add",
                           "object-del",
                           "chardev-add",
                           "chardev-remove",
                           "stop",
                           "cont",
                           "system_reset",
                           "quit",
                           "getfd",
                           "closefd",
                           "human-monitor-command"}) {
    EXPECT_TRUE(has_name(cmds, name)) << "query-commands lacks " << name;
  }
  for (const json& c : cmds) EXPECT_EQ(c.size(), 1u) << c.dump();
}

TEST_F(QmpCommandsTest, StatusStopCont) {
  json s = ret("query-status");
  EXPECT_EQ(s["status"], "running");
  EXPECT_EQ(s["running"], true);
  EXPECT_EQ(s["singlestep"], false);
  ret("stop");
  EXPECT_TRUE(m_->wait_event("STOP").has_value());
  s = ret("query-status");
  EXPECT_EQ(s["status"], "paused");
  EXPECT_EQ(s["running"], false);
  ret("cont");
  EXPECT_TRUE(m_->wait_event("RESUME").has_value());
  EXPECT_EQ(ret("query-status")["status"], "running");
}

TEST(QmpStartPausedTest, DashSIsPausedUntilCont) {
  QTestMachine m("-M none -S");
  ASSERT_TRUE(m.ok()) << m.error();
  json s = m.qmp("query-status");
  EXPECT_EQ(s["return"]["running"], false) << s.dump();
  EXPECT_EQ(s["return"]["status"], "prelaunch") << s.dump();
  EXPECT_TRUE(m.qmp("cont").contains("return"));
  EXPECT_TRUE(m.wait_event("RESUME").has_value());
  EXPECT_EQ(m.qmp("query-status")["return"]["status"], "running");
  m.quit();
}

TEST_F(QmpCommandsTest, QueryTargetKvmName) {
  EXPECT_EQ(ret("query-target"), (json{{"arch", "x86_64"}}));
  json k = ret("query-kvm");
  EXPECT_EQ(k["enabled"], false) << k.dump();
  EXPECT_TRUE(k["present"].is_boolean()) << k.dump();
  EXPECT_EQ(ret("query-name"), json::object());
}

TEST(QmpNameTest, QueryNameWithDashName) {
  QTestMachine m("-M none -name guest0");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m.qmp("query-name")["return"], (json{{"name", "guest0"}}));
  m.quit();
}

TEST_F(QmpCommandsTest, QueryMachinesIsStrictlyShaped) {
  json ms = ret("query-machines");
  ASSERT_TRUE(ms.is_array());
  ASSERT_FALSE(ms.empty());
  const std::set<std::string> allowed{"name",
                                      "alias",
                                      "is-default",
                                      "cpu-max",
                                      "hotpluggable-cpus",
                                      "numa-mem-supported",
                                      "deprecated",
                                      "default-cpu-type",
                                      "default-ram-id"};
  int defaults = 0;
  for (const json& e : ms) {
    ASSERT_TRUE(e.is_object());
    for (auto& [k, v] : e.items()) EXPECT_TRUE(allowed.count(k)) << "member " << k << " in " << e;
    EXPECT_TRUE(e.contains("name") && e["name"].is_string()) << e;
    EXPECT_TRUE(e.contains("cpu-max") && e["cpu-max"].is_number_integer()) << e;
    EXPECT_TRUE(e.contains("hotpluggable-cpus") && e["hotpluggable-cpus"].is_boolean()) << e;
    EXPECT_TRUE(e.contains("numa-mem-supported") && e["numa-mem-supported"].is_boolean()) << e;
    EXPECT_TRUE(e.contains("deprecated") && e["deprecated"].is_boolean()) << e;
    if (e.contains("alias")) {
      EXPECT_TRUE(e["alias"].is_string()) << e;
    }
    if (e.contains("is-default")) {
      EXPECT_TRUE(e["is-default"].is_boolean()) << e;
      if (e["is-default"] == true) ++defaults;
    }
    if (e.contains("default-cpu-type")) {
      EXPECT_TRUE(e["default-cpu-type"].is_string()) << e;
    }
    if (e.contains("default-ram-id")) {
      EXPECT_TRUE(e["default-ram-id"].is_string()) << e;
    }
  }
  EXPECT_LE(defaults, 1);
  EXPECT_TRUE(has_name(ms, "none"));
}

TEST_F(QmpCommandsTest, QomListTypesIsStrictlyShaped) {
  json ts = ret("qom-list-types", {{"abstract", true}, {"implements", "device"}});
  ASSERT_TRUE(ts.is_array());
  for (const json& e : ts) {
    for (auto& [k, v] : e.items()) {
      EXPECT_TRUE(k == "name" || k == "abstract" || k == "parent") << "member " << k << " " << e;
    }
    EXPECT_TRUE(e["name"].is_string()) << e;
    if (e.contains("abstract")) {
      EXPECT_TRUE(e["abstract"].is_boolean()) << e;
    }
    if (e.contains("parent")) {
      EXPECT_TRUE(e["parent"].is_string()) << e;
    }
  }
  EXPECT_TRUE(has_name(ts, "machina-testdev-timer"));
  EXPECT_TRUE(has_name(ts, "machina-testdev-gpio"));
  EXPECT_FALSE(has_name(ts, "none-machine")) << "a machine type implements device";
  json concrete = ret("qom-list-types", {{"abstract", false}, {"implements", "device"}});
  for (const json& e : concrete) EXPECT_NE(e.value("abstract", false), true) << e;
  EXPECT_LT(concrete.size(), ts.size()) << "abstract:true adds no abstract device type";
}

TEST_F(QmpCommandsTest, QomListMachine) {
  json l = ret("qom-list", {{"path", "/machine"}});
  ASSERT_TRUE(l.is_array());
  for (const json& e : l) {
    EXPECT_TRUE(e["name"].is_string() && e["type"].is_string()) << e;
  }
  bool peripheral = false, type = false;
  for (const json& e : l) {
    if (e["name"] == "peripheral") peripheral = e["type"] == "child<container>";
    if (e["name"] == "type") type = e["type"] == "string";
  }
  EXPECT_TRUE(peripheral) << l.dump();
  EXPECT_TRUE(type) << l.dump();
  json p = ret("qom-list", {{"path", "/machine/peripheral"}});
  bool t0 = false;
  for (const json& e : p) {
    if (e["name"] == "t0") t0 = e["type"] == "child<machina-testdev-timer>";
  }
  EXPECT_TRUE(t0) << p.dump();
  json bad = m_->qmp("qom-list", {{"path", "/nope"}});
  EXPECT_EQ(error_class(bad), "DeviceNotFound") << bad.dump();
  EXPECT_EQ(error_desc(bad), "Device '/nope' not found");
}

TEST_F(QmpCommandsTest, QomGetAndSet) {
  EXPECT_EQ(ret("qom-get", {{"path", "/machine/peripheral/t0"}, {"property", "iobase"}}), 0xf100);
  EXPECT_EQ(ret("qom-get", {{"path", "/machine/peripheral/g0"}, {"property", "type"}}),
            "machina-testdev-gpio");
  EXPECT_EQ(ret("qom-get", {{"path", "/machine/peripheral/t0"}, {"property", "realized"}}), true);
  // Partial paths resolve like QEMU's object_resolve_path.
  EXPECT_EQ(ret("qom-get", {{"path", "t0"}, {"property", "iobase"}}), 0xf100);
  // A static property cannot change once the device is realized.
  json r = m_->qmp("qom-set",
                   {{"path", "/machine/peripheral/t0"}, {"property", "iobase"}, {"value", 0xf300}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
  EXPECT_EQ(ret("qom-get", {{"path", "/machine/peripheral/t0"}, {"property", "iobase"}}), 0xf100);
  r = m_->qmp("qom-set",
              {{"path", "/machine/peripheral/t0"}, {"property", "no-such"}, {"value", 1}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
  // object-add only creates user-creatable types.
  r = m_->qmp("object-add", {{"qom-type", "container"}, {"id", "c0"}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
  r = m_->qmp("object-del", {{"id", "nope"}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
  EXPECT_EQ(error_desc(r), "object 'nope' not found");
}

TEST_F(QmpCommandsTest, HumanMonitorCommand) {
  json s = ret("human-monitor-command", {{"command-line", "info status"}});
  ASSERT_TRUE(s.is_string());
  EXPECT_NE(s.get<std::string>().find("VM status: running"), std::string::npos) << s;
  json t = ret("human-monitor-command", {{"command-line", "info qom-tree"}});
  // QEMU's form: the tree under the machine, each line "INDENT/NAME (TYPE)".
  EXPECT_EQ(t.get<std::string>().rfind("/machine (none-machine)\r\n", 0), 0u) << t;
  EXPECT_NE(t.get<std::string>().find("\n    /t0 (machina-testdev-timer)\r\n"), std::string::npos)
      << t;
  json mt = ret("human-monitor-command", {{"command-line", "info mtree"}});
  EXPECT_NE(mt.get<std::string>().find("address-space: memory"), std::string::npos) << mt;
  EXPECT_NE(mt.get<std::string>().find("address-space: I/O"), std::string::npos) << mt;
  json qt = ret("human-monitor-command", {{"command-line", "info qtree"}});
  EXPECT_NE(qt.get<std::string>().find("main-system-bus"), std::string::npos) << qt;
  json bad = ret("human-monitor-command", {{"command-line", "no-such-hmp"}});
  EXPECT_NE(bad.get<std::string>().find("unknown command"), std::string::npos) << bad;
}

TEST_F(QmpCommandsTest, GetfdWithScmRightsThenClosefd) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  json r = m_->qmp_client().request(json{{"execute", "getfd"}, {"arguments", {{"fdname", "fd0"}}}},
                                    kDefaultTimeout, p[0]);
  close(p[0]);
  EXPECT_EQ(r, (json{{"return", json::object()}}));
  r = m_->qmp("closefd", {{"fdname", "fd0"}});
  EXPECT_EQ(r, (json{{"return", json::object()}}));
  // The server's copy is closed: the pipe's only reader is gone.
  signal(SIGPIPE, SIG_IGN);
  EXPECT_EQ(write(p[1], "x", 1), -1);
  close(p[1]);
  r = m_->qmp("closefd", {{"fdname", "fd0"}});
  EXPECT_EQ(error_class(r), "GenericError");
  EXPECT_EQ(error_desc(r), "File descriptor named 'fd0' not found");
  r = m_->qmp("getfd", {{"fdname", "fd1"}});
  EXPECT_EQ(error_class(r), "GenericError");
  EXPECT_EQ(error_desc(r), "No file descriptor supplied via SCM_RIGHTS");
}

TEST_F(QmpCommandsTest, ChardevAddRemoveNullAndSocket) {
  json r = m_->qmp("chardev-add",
                   {{"id", "n0"}, {"backend", {{"type", "null"}, {"data", json::object()}}}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  json list = ret("query-chardev");
  bool found = false;
  for (const json& c : list) found |= c["label"] == "n0";
  EXPECT_TRUE(found) << list.dump();
  r = m_->qmp("chardev-add",
              {{"id", "n0"}, {"backend", {{"type", "null"}, {"data", json::object()}}}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
  EXPECT_EQ(m_->qmp("chardev-remove", {{"id", "n0"}}), (json{{"return", json::object()}}));
  list = ret("query-chardev");
  for (const json& c : list) EXPECT_NE(c["label"], "n0");
  r = m_->qmp("chardev-remove", {{"id", "n0"}});
  EXPECT_EQ(error_class(r), "GenericError");
  EXPECT_EQ(error_desc(r), "Chardev 'n0' not found");

  TempPath sp("chr");
  json addr = {{"type", "unix"}, {"data", {{"path", sp.str()}}}};
  r = m_->qmp(
      "chardev-add",
      {{"id", "s0"},
       {"backend",
        {{"type", "socket"}, {"data", {{"addr", addr}, {"server", true}, {"wait", false}}}}}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  Fd c = connect_unix(sp.str(), Ms(2000));
  EXPECT_TRUE(c.valid()) << "socket chardev does not listen";
  c.reset();
  EXPECT_EQ(m_->qmp("chardev-remove", {{"id", "s0"}}), (json{{"return", json::object()}}));
}

TEST_F(QmpCommandsTest, DeviceAddDelWithDeviceDeletedOnce) {
  json r =
      m_->qmp("device_add", {{"driver", "machina-testdev-gpio"}, {"id", "g1"}, {"iobase", 0xf300}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  EXPECT_EQ(ret("qom-get", {{"path", "/machine/peripheral/g1"}, {"property", "realized"}}), true);
  // The new device decodes its ports.
  EXPECT_EQ(m_->qtest("set_irq_in /machine/peripheral/g1 unnamed-gpio-in 1 1"), "OK");
  EXPECT_EQ(m_->inb(0xf300), 0x02);
  r = m_->qmp("device_add", {{"driver", "machina-testdev-gpio"}, {"id", "g1"}});
  EXPECT_EQ(error_class(r), "GenericError") << "duplicate id accepted: " << r.dump();

  r = m_->qmp("device_del", {{"id", "g1"}});
  ASSERT_EQ(r, (json{{"return", json::object()}})) << r.dump();
  auto ev = m_->wait_event("DEVICE_DELETED");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"], (json{{"device", "g1"}, {"path", "/machine/peripheral/g1"}}));
  // Exactly once.
  m_->qmp_client().drain(Ms(100));
  EXPECT_TRUE(m_->qmp("query-status").contains("return"));
  for (const json& e : m_->qmp_client().events()) {
    EXPECT_NE(e["event"], "DEVICE_DELETED") << "second event: " << e.dump();
  }
  r = m_->qmp("qom-get", {{"path", "/machine/peripheral/g1"}, {"property", "type"}});
  EXPECT_FALSE(error_class(r).empty()) << r.dump();
  r = m_->qmp("device_del", {{"id", "g1"}});
  EXPECT_EQ(error_class(r), "DeviceNotFound");
  // The id is free again.
  r = m_->qmp("device_add",
              {{"driver", "machina-testdev-timer"}, {"id", "g1"}, {"iobase", 0xf400}});
  EXPECT_EQ(r, (json{{"return", json::object()}})) << r.dump();
}

TEST_F(QmpCommandsTest, DeviceAddErrors) {
  json r = m_->qmp("device_add", {{"driver", "foo"}});
  EXPECT_EQ(error_class(r), "GenericError");
  EXPECT_EQ(error_desc(r), "'foo' is not a valid device model name");
  r = m_->qmp("device_add", {{"driver", "machina-testdev-gpio"}, {"no-such-prop", 1}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
}

TEST_F(QmpCommandsTest, DeviceListPropertiesAndQomListProperties) {
  json props = ret("device-list-properties", {{"typename", "machina-testdev-timer"}});
  EXPECT_TRUE(has_name(props, "iobase")) << props.dump();
  json qp = ret("qom-list-properties", {{"typename", "machina-testdev-timer"}});
  EXPECT_TRUE(has_name(qp, "iobase")) << qp.dump();
  json r = m_->qmp("device-list-properties", {{"typename", "nope"}});
  EXPECT_EQ(error_class(r), "DeviceNotFound") << r.dump();
  EXPECT_EQ(error_desc(r), "Device 'nope' not found");
}

TEST_F(QmpCommandsTest, SystemResetEmitsReset) {
  ret("system_reset");
  auto ev = m_->wait_event("RESET");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"]["guest"], false) << ev->dump();
  EXPECT_EQ((*ev)["data"]["reason"], "host-qmp-system-reset") << ev->dump();
}

TEST_F(QmpCommandsTest, SigtermEmitsShutdownOnTheQtestQmpSocket) {
  m_->child().send_signal(SIGTERM);
  auto ev = m_->wait_event("SHUTDOWN");
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ((*ev)["data"], (json{{"guest", false}, {"reason", "host-signal"}}));
  ExitStatus st = m_->child().wait_or_kill(kDefaultTimeout);
  EXPECT_TRUE(st.ok()) << st.describe();
}

}  // namespace
}  // namespace machina::qtest
