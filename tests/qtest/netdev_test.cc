// -netdev and the QMP network commands on the real binary: user netdevs with host forwarding,
// netdev_add / netdev_del / set_link, and QEMU's errors for bad input.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

int free_tcp_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

bool port_accepts(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

std::string error_desc(const json& r) {
  return r.value("/error/desc"_json_pointer, "");
}
std::string error_class(const json& r) {
  return r.value("/error/class"_json_pointer, "");
}

TEST(NetdevProcessTest, CommandLineUserNetdevForwardsItsHostPort) {
  int port = free_tcp_port();
  std::string arg = "user,id=n0,hostfwd=tcp:127.0.0.1:" + std::to_string(port) + "-:22";
  RawMachine m({"-M", "none", "-display", "none", "-netdev", arg}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  EXPECT_TRUE(port_accepts(port));
  json info = q->execute("human-monitor-command", {{"command-line", "info network"}});
  EXPECT_NE(info["return"].get<std::string>().find("n0: index=0,type=user,net=10.0.2.0"),
            std::string::npos)
      << info.dump();
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(NetdevProcessTest, JsonNetdevOnTheCommandLine) {
  RawMachine m({"-M", "none", "-display", "none", "-netdev", R"({"type":"user","id":"j0"})"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("netdev_del", {{"id", "j0"}});
  EXPECT_TRUE(r.contains("return")) << r.dump();
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(NetdevProcessTest, NetdevAddAndDelOverQmp) {
  RawMachine m({"-M", "none", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  std::this_thread::sleep_for(Ms(50));
  int baseline = count_fds(m.pid());
  int port = free_tcp_port();
  json rule = {{"str", "tcp:127.0.0.1:" + std::to_string(port) + "-:22"}};
  json r =
      q->execute("netdev_add", {{"type", "user"}, {"id", "n1"}, {"hostfwd", json::array({rule})}});
  ASSERT_TRUE(r.contains("return")) << r.dump();
  EXPECT_TRUE(port_accepts(port));
  EXPECT_GT(count_fds(m.pid()), baseline);

  r = q->execute("netdev_add", {{"type", "user"}, {"id", "n1"}});
  EXPECT_EQ(error_desc(r), "Duplicate ID 'n1'") << r.dump();
  EXPECT_EQ(error_class(r), "GenericError");

  r = q->execute("set_link", {{"name", "n1"}, {"up", false}});
  EXPECT_TRUE(r.contains("return")) << r.dump();
  r = q->execute("human-monitor-command", {{"command-line", "info network"}});
  EXPECT_NE(r["return"].get<std::string>().find("link=down"), std::string::npos) << r.dump();

  r = q->execute("netdev_del", {{"id", "n1"}});
  EXPECT_TRUE(r.contains("return")) << r.dump();
  EXPECT_FALSE(port_accepts(port));
  int now = -1;
  for (int i = 0; i < 100 && (now = count_fds(m.pid())) > baseline; ++i) {
    std::this_thread::sleep_for(Ms(10));
  }
  EXPECT_EQ(now, baseline);

  r = q->execute("netdev_del", {{"id", "n1"}});
  EXPECT_EQ(error_desc(r), "Device 'n1' not found") << r.dump();
  EXPECT_EQ(error_class(r), "DeviceNotFound");
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(NetdevProcessTest, QmpErrorsUseQemusTexts) {
  RawMachine m({"-M", "none", "-display", "none"}, 1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto q = m.connect(0);
  ASSERT_TRUE(q);
  const std::pair<json, std::string> cases[] = {
      {{{"id", "x"}}, "Parameter 'type' is missing"},
      {{{"type", "user"}}, "Parameter 'id' is missing"},
      {{{"type", "bogus"}, {"id", "x"}}, "Parameter 'type' does not accept value 'bogus'"},
      {{{"type", "user"}, {"id", "x"}, {"restrict", "on"}},
       "Invalid parameter type for 'restrict', expected: boolean"},
      {{{"type", "user"}, {"id", "x"}, {"hostfwd", json::array({{{"str", "nonsense"}}})}},
       "Invalid host forwarding rule 'nonsense' (No : separators)"},
      {{{"type", "tap"}, {"id", "x"}, {"fd", "nosuchfd"}},
       "File descriptor named 'nosuchfd' has not been found"},
  };
  for (const auto& [args, want] : cases) {
    json r = q->execute("netdev_add", args);
    EXPECT_EQ(error_desc(r), want) << args.dump() << " -> " << r.dump();
  }
  json r = q->execute("set_link", {{"name", "nic9"}, {"up", true}});
  EXPECT_EQ(error_desc(r), "Device 'nic9' not found") << r.dump();
  EXPECT_EQ(error_class(r), "DeviceNotFound");
  r = q->execute("set_link", {{"name", "nic9"}});
  EXPECT_EQ(error_desc(r), "Parameter 'up' is missing") << r.dump();
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST(NetdevProcessTest, BadCommandLineOptionsExitWithQemusText) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"-netdev", "user,id=n0,hostfwd=bad"},
       "machina: -netdev user,id=n0,hostfwd=bad: Invalid host forwarding rule 'bad' (No : "
       "separators)"},
      {{"-netdev", "user"}, "machina: -netdev user: Parameter 'id' is missing"},
      {{"-netdev", "user,id=n0,net=10.0.2.0/33"},
       "machina: -netdev user,id=n0,net=10.0.2.0/33: Invalid netmask provided (must be in range "
       "4-32)"},
      {{"-netdev", "user,id=a", "-netdev", "user,id=a"}, "Duplicate ID 'a' for netdev"},
      {{"-netdev", "tap,id=t0,script=/etc/qemu-ifup"}, "network scripts are not supported"},
  };
  for (const auto& [extra, want] : cases) {
    std::vector<std::string> args = {"-M", "none", "-display", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_machina(args);
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.status.describe() << " " << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << "want: " << want << "\ngot: " << r.err;
  }
}

TEST(NetdevProcessTest, NetdevHelpListsBackends) {
  auto r = run_machina({"-netdev", "help"});
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe();
  EXPECT_NE(r.out.find("user"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tap"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace machina::qtest
