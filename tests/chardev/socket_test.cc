#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "chardev/char-socket.h"
#include "chardev/fd-passing.h"
#include "chardev_test_util.h"

namespace machina::test {
namespace {

class SocketChardevTest : public ChardevTest {};

Chardev* unix_server(const std::string& id, const std::string& p) {
  auto r = chardev_new(
      {{"backend", "socket"}, {"id", id}, {"path", p}, {"server", "on"}, {"wait", "off"}});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
  return r.ok() ? r.value() : nullptr;
}

TEST_F(SocketChardevTest, UnixServerExchangesDataBothWays) {
  std::string p = path("srv");
  Chardev* chr = unix_server("s0", p);
  ASSERT_NE(chr, nullptr);
  EXPECT_EQ(chr->filename(), "disconnected:unix:" + p + ",server=on");
  EXPECT_FALSE(chr->backend_open());
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());

  int c = unix_connect(p);
  ASSERT_GE(c, 0);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }));
  EXPECT_TRUE(f.saw(ChardevEvent::Opened));
  EXPECT_EQ(chr->filename(), "unix:" + p + ",server=on");

  ASSERT_EQ(write(c, "hello", 5), 5);
  ASSERT_TRUE(pump_until([&] { return f.got == "hello"; }));
  EXPECT_EQ(f.fe.write("world"), 5u);
  EXPECT_EQ(read_some(c, 5), "world");
  close(c);
}

TEST_F(SocketChardevTest, ClientConnectsAtCreation) {
  std::string p = path("cli");
  int l = unix_listen(p);
  ASSERT_GE(l, 0);
  auto r = chardev_new({{"backend", "socket"}, {"id", "c0"}, {"path", p}});
  ASSERT_TRUE(r.ok()) << r.message();
  Chardev* chr = r.value();
  EXPECT_TRUE(chr->backend_open());
  EXPECT_EQ(chr->filename(), "unix:" + p);
  int peer = accept(l, nullptr, nullptr);
  ASSERT_GE(peer, 0);
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  EXPECT_TRUE(f.saw(ChardevEvent::Opened));  // attached to an already open backend
  EXPECT_EQ(f.fe.write("ping"), 4u);
  EXPECT_EQ(read_some(peer, 4), "ping");
  ASSERT_EQ(write(peer, "pong", 4), 4);
  ASSERT_TRUE(pump_until([&] { return f.got == "pong"; }));
  close(peer);
  close(l);
}

TEST_F(SocketChardevTest, ClientToMissingPathFailsClearly) {
  std::string p = path("missing");
  auto r = chardev_new({{"backend", "socket"}, {"id", "c0"}, {"path", p}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Failed to connect to '" + p + "': No such file or directory");
  EXPECT_EQ(chardev_find("c0"), nullptr);
}

TEST_F(SocketChardevTest, ClientReconnectRetriesUntilTheServerAppears) {
  std::string p = path("recon");
  auto r = chardev_new({{"backend", "socket"}, {"id", "c0"}, {"path", p}, {"reconnect", "1"}});
  ASSERT_TRUE(r.ok()) << r.message();
  Chardev* chr = r.value();
  EXPECT_FALSE(chr->backend_open());
  EXPECT_EQ(chr->filename(), "disconnected:unix:" + p);
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  EXPECT_EQ(f.fe.write("lost"), 4u);  // no peer: dropped without blocking
  int l = unix_listen(p);
  ASSERT_GE(l, 0);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }, 3000));
  EXPECT_TRUE(f.saw(ChardevEvent::Opened));
  int peer = accept(l, nullptr, nullptr);
  ASSERT_GE(peer, 0);
  EXPECT_EQ(f.fe.write("new"), 3u);
  EXPECT_EQ(read_some(peer, 3), "new");
  close(peer);
  close(l);
}

TEST_F(SocketChardevTest, TcpServerAndClient) {
  auto r = chardev_new({{"backend", "socket"},
                        {"id", "t0"},
                        {"host", "127.0.0.1"},
                        {"port", "0"},
                        {"server", "on"},
                        {"wait", "off"}});
  ASSERT_TRUE(r.ok()) << r.message();
  auto* srv = static_cast<SocketChardev*>(r.value());
  ASSERT_GT(srv->local_port(), 0);
  std::string port = std::to_string(srv->local_port());
  EXPECT_EQ(srv->filename(), "disconnected:tcp:127.0.0.1:" + port + ",server=on");
  RecordingFrontend fs;
  ASSERT_TRUE(fs.attach(srv).ok());

  // A chardev client connecting to the chardev server.
  auto c = chardev_new({{"backend", "socket"},
                        {"id", "t1"},
                        {"host", "127.0.0.1"},
                        {"port", port},
                        {"nodelay", "on"}});
  ASSERT_TRUE(c.ok()) << c.message();
  RecordingFrontend fc;
  ASSERT_TRUE(fc.attach(c.value()).ok());
  ASSERT_TRUE(pump_until([&] { return srv->backend_open(); }));
  EXPECT_TRUE(srv->filename().starts_with("tcp:127.0.0.1:" + port + ",127.0.0.1:"))
      << srv->filename();
  EXPECT_TRUE(srv->filename().ends_with(",server=on"));
  EXPECT_EQ(fc.fe.write("abc"), 3u);
  ASSERT_TRUE(pump_until([&] { return fs.got == "abc"; }));
  EXPECT_EQ(fs.fe.write("xyz"), 3u);
  ASSERT_TRUE(pump_until([&] { return fc.got == "xyz"; }));
}

TEST_F(SocketChardevTest, TcpClientToClosedPortFails) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  std::string port = std::to_string(ntohs(a.sin_port));
  close(s);  // bound, never listened: nothing there now
  auto r =
      chardev_new({{"backend", "socket"}, {"id", "t0"}, {"host", "127.0.0.1"}, {"port", port}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Failed to connect to '127.0.0.1:" + port + "': Connection refused");
}

TEST_F(SocketChardevTest, BackPressureWhenThePeerStopsReading) {
  std::string p = path("bp");
  Chardev* chr = unix_server("s0", p);
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  int c = unix_connect(p);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }));
  std::string chunk(65536, 'x');
  size_t total = 0, accepted;
  auto start = std::chrono::steady_clock::now();
  do {
    accepted = f.fe.write(chunk);
    total += accepted;
  } while (accepted == chunk.size() && total < (64u << 20));
  EXPECT_LT(accepted, chunk.size());  // the socket filled up: partial write, no blocking
  EXPECT_LT(total, 64u << 20);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(f.fe.write(chunk), 0u);

  bool writable = false;
  f.fe.notify_writable([&] { writable = true; });
  pump_for(20);
  EXPECT_FALSE(writable);  // nobody read yet
  // The peer drains everything: the frontend hears it may write again.
  size_t drained = 0;
  char buf[65536];
  while (drained < total) {
    ssize_t n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      drained += size_t(n);
    } else {
      main_loop().run_once(kNsPerMs);
    }
  }
  ASSERT_TRUE(pump_until([&] { return writable; }));
  EXPECT_GT(f.fe.write("more"), 0u);
  close(c);
}

TEST_F(SocketChardevTest, DisconnectedPeerDropsOutputAndReconnectingClientGetsNewOutput) {
  std::string p = path("rc");
  Chardev* chr = unix_server("s0", p);
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  int c1 = unix_connect(p);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }));
  EXPECT_EQ(f.fe.write("one"), 3u);
  EXPECT_EQ(read_some(c1, 3), "one");
  close(c1);
  ASSERT_TRUE(pump_until([&] { return !chr->backend_open(); }));
  EXPECT_TRUE(f.saw(ChardevEvent::Closed));
  EXPECT_EQ(chr->filename(), "disconnected:unix:" + p + ",server=on");

  // No client: writes are accepted and dropped, however much.
  std::string big(1 << 20, 'd');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 16; i++) EXPECT_EQ(f.fe.write(big), big.size());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));

  int c2 = unix_connect(p);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }));
  EXPECT_EQ(f.fe.write("two"), 3u);
  EXPECT_EQ(read_some(c2, 3, 500), "two");  // only the new output
  close(c2);
}

TEST_F(SocketChardevTest, ServerServesOneClientAtATime) {
  std::string p = path("one");
  Chardev* chr = unix_server("s0", p);
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  int c1 = unix_connect(p);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }));
  int c2 = unix_connect(p);  // queued by the kernel, not served
  ASSERT_GE(c2, 0);
  ASSERT_EQ(write(c2, "B", 1), 1);
  pump_for(30);
  EXPECT_EQ(f.got, "");
  ASSERT_EQ(write(c1, "A", 1), 1);
  ASSERT_TRUE(pump_until([&] { return f.got == "A"; }));
  close(c1);
  ASSERT_TRUE(pump_until([&] { return f.got == "AB"; }));  // second client served next
  close(c2);
}

TEST_F(SocketChardevTest, WaitOnBlocksUntilAClientConnects) {
  std::string p = path("wait");
  std::thread t([&] {
    for (int i = 0; i < 200; i++) {
      usleep(5000);
      if (i >= 10) {
        int c = unix_connect(p);
        if (c >= 0) {
          usleep(100000);
          close(c);
          return;
        }
      }
    }
  });
  auto start = std::chrono::steady_clock::now();
  testing::internal::CaptureStderr();
  auto r = chardev_new({{"backend", "socket"}, {"id", "s0"}, {"path", p}, {"server", "on"}});
  std::string err = testing::internal::GetCapturedStderr();
  auto took = std::chrono::steady_clock::now() - start;
  t.join();
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_GE(took, std::chrono::milliseconds(45));
  EXPECT_EQ(err, "QEMU waiting for connection on: disconnected:unix:" + p + ",server=on\n");
  EXPECT_TRUE(r.value()->backend_open());
}

TEST_F(SocketChardevTest, WaitOffReturnsAtOnce) {
  auto start = std::chrono::steady_clock::now();
  Chardev* chr = unix_server("s0", path("nowait"));
  ASSERT_NE(chr, nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_FALSE(chr->backend_open());
}

TEST_F(SocketChardevTest, ReceivesPassedFileDescriptors) {
  std::string p = path("fds");
  Chardev* chr = unix_server("s0", p);
  RecordingFrontend f;
  ASSERT_TRUE(f.attach(chr).ok());
  int c = unix_connect(p);
  ASSERT_TRUE(pump_until([&] { return chr->backend_open(); }));
  int pfd[2];
  ASSERT_EQ(pipe(pfd), 0);
  ASSERT_EQ(send_with_fds(c, "getfd", 5, {pfd[1]}), 5);
  close(pfd[1]);
  ASSERT_TRUE(pump_until([&] { return f.got == "getfd"; }));
  std::vector<int> fds = f.fe.take_received_fds();
  ASSERT_EQ(fds.size(), 1u);
  EXPECT_TRUE(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(write(fds[0], "Z", 1), 1);
  char ch = 0;
  ASSERT_EQ(read(pfd[0], &ch, 1), 1);
  EXPECT_EQ(ch, 'Z');
  EXPECT_TRUE(f.fe.take_received_fds().empty());  // handed over once
  close(fds[0]);
  close(pfd[0]);
  close(c);
}

TEST(FdPassing, RoundTripOverASocketPair) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int pfd[2];
  ASSERT_EQ(pipe(pfd), 0);
  ASSERT_EQ(send_with_fds(sv[0], "x", 1, {pfd[0], pfd[1]}), 1);
  char buf[8];
  std::vector<int> fds;
  ASSERT_EQ(recv_with_fds(sv[1], buf, sizeof(buf), &fds), 1);
  ASSERT_EQ(fds.size(), 2u);
  ASSERT_EQ(write(fds[1], "q", 1), 1);
  ASSERT_EQ(read(fds[0], buf, 1), 1);
  EXPECT_EQ(buf[0], 'q');
  // Without descriptors it behaves as recv.
  ASSERT_EQ(send_with_fds(sv[0], "yz", 2, {}), 2);
  fds.clear();
  EXPECT_EQ(recv_with_fds(sv[1], buf, sizeof(buf), &fds), 2);
  EXPECT_TRUE(fds.empty());
  EXPECT_EQ(send_with_fds(sv[0], "", 0, {}), -1);
  for (int fd : {sv[0], sv[1], pfd[0], pfd[1]}) close(fd);
}

TEST_F(SocketChardevTest, OptionErrors) {
  auto err = [](ChardevOptions o) {
    auto r = chardev_new(o);
    return r.ok() ? std::string("ok") : r.message();
  };
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}}), "chardev: socket: no host given");
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}, {"host", "localhost"}}),
            "chardev: socket: no port given");
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}, {"path", "/x"}, {"wait", "off"}}),
            "'wait' option is incompatible with socket in client connect mode");
  EXPECT_EQ(err({{"backend", "socket"},
                 {"id", "a"},
                 {"path", "/x"},
                 {"server", "on"},
                 {"reconnect", "1"}}),
            "'reconnect' option is incompatible with socket in server listen mode");
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}, {"path", "/x"}, {"server", "maybe"}}),
            "Parameter 'server' expects 'on' or 'off'");
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}, {"path", "/x"}, {"reconnect", "soon"}}),
            "Parameter 'reconnect' expects a number");
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}, {"path", std::string(200, 'p')}}),
            "UNIX socket path '" + std::string(200, 'p') + "' is too long");
  EXPECT_EQ(err({{"backend", "socket"}, {"id", "a"}, {"path", "/x"}, {"telnet", "on"}}),
            "'telnet' is not supported");
}

}  // namespace
}  // namespace machina::test
