// QMP wire protocol of the real binary over UNIX sockets: greeting, negotiation, ids, errors,
// resynchronisation, limits, several monitors, misbehaving clients.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "qtest/harness.h"

namespace machina::qtest {
namespace {

const std::vector<std::string> kNone{"-M", "none", "-display", "none"};

// Reads replies until the one with id ID; returns it and collects the ones before it.
json reply_with_id(QmpClient& q, const json& id, std::vector<json>* before = nullptr) {
  for (int i = 0; i < 5000; ++i) {
    auto r = q.read_reply();
    if (!r) return json();
    if (r->contains("id") && (*r)["id"] == id) return *r;
    if (before) before->push_back(*r);
  }
  ADD_FAILURE() << "too many replies before id " << id.dump();
  return json();
}

class QmpProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = std::make_unique<RawMachine>(kNone, 2);
    ASSERT_TRUE(m_->ok()) << m_->error();
  }
  void TearDown() override {
    // Some tests never talk to m_: it may still be starting (ASan, a loaded host) when they end.
    if (m_->child().running() && m_->wait_listening()) {
      m_->child().send_signal(SIGTERM);
      ExitStatus st = m_->wait_exit();
      EXPECT_TRUE(st.ok()) << st.describe() << "\n" << m_->child().stderr_text();
    }
  }
  std::unique_ptr<RawMachine> m_;
};

TEST_F(QmpProtocolTest, GreetingShape) {
  auto q = m_->connect(0, /*negotiate=*/false);
  ASSERT_TRUE(q);
  auto g = q->read_object();
  ASSERT_TRUE(g.has_value());
  ASSERT_TRUE(g->contains("QMP")) << g->dump();
  const json& qmp = (*g)["QMP"];
  EXPECT_EQ(g->size(), 1u);
  EXPECT_EQ(qmp["version"]["qemu"], (json{{"major", 7}, {"minor", 2}, {"micro", 0}}));
  ASSERT_TRUE(qmp["version"]["package"].is_string());
  EXPECT_EQ(qmp["version"]["package"].get<std::string>().rfind("machina", 0), 0u);
  EXPECT_EQ(qmp["capabilities"], json::array({"oob"}));
  // One object per line, CRLF-terminated.
  const std::string& raw = q->received();
  ASSERT_GE(raw.size(), 2u);
  EXPECT_EQ(raw.substr(raw.size() - 2), "\r\n");
  EXPECT_EQ(raw.find('\n'), raw.size() - 1);
  // The greeting's version equals query-version's.
  json r = q->execute("qmp_capabilities");
  EXPECT_EQ(r, (json{{"return", json::object()}}));
  json v = q->execute("query-version");
  EXPECT_EQ(v["return"], qmp["version"]);
}

TEST_F(QmpProtocolTest, NegotiationMode) {
  auto q = m_->connect(0, /*negotiate=*/false);
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->read_object().has_value());
  json r = q->execute("query-status");
  EXPECT_EQ(error_class(r), "CommandNotFound") << r.dump();
  // Events are not delivered before negotiation.
  auto other = m_->connect(1);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->execute("stop").contains("return"));
  ASSERT_TRUE(other->wait_event("STOP").has_value());
  EXPECT_FALSE(q->read_object(Ms(200), /*expect_data=*/false).has_value())
      << "an event reached a monitor in negotiation mode";
  r = q->request(json{{"execute", "qmp_capabilities"}, {"arguments", {{"enable", json::array()}}}});
  EXPECT_EQ(r, (json{{"return", json::object()}}));
  r = q->execute("qmp_capabilities");
  EXPECT_EQ(error_class(r), "CommandNotFound");
  EXPECT_EQ(error_desc(r), "Capabilities negotiation is already complete, command ignored");
  // Now events do arrive.
  EXPECT_TRUE(other->execute("cont").contains("return"));
  EXPECT_TRUE(q->wait_event("RESUME").has_value());
}

TEST_F(QmpProtocolTest, IdOfEveryJsonTypeIsEchoed) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  for (const json& id : {json(1), json(-7), json(2.5), json("abc"), json(true), json(nullptr),
                         json::array({1, "x"}), json{{"a", json{{"b", 1}}}}}) {
    json r = q->request(json{{"execute", "query-status"}, {"id", id}});
    ASSERT_TRUE(r.contains("id")) << "id " << id.dump() << " not echoed: " << r.dump();
    EXPECT_EQ(r["id"], id);
    EXPECT_TRUE(r.contains("return"));
    // Errors echo the id too.
    json e = q->request(json{{"execute", "no-such-command"}, {"id", id}});
    EXPECT_EQ(e["id"], id) << e.dump();
  }
}

TEST_F(QmpProtocolTest, SingleQuotedStrings) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  json r = q->execute_raw("{'execute': 'query-status', 'id': 'it\\'s'}\n");
  EXPECT_EQ(r["id"], "it's") << r.dump();
  EXPECT_TRUE(r.contains("return"));
}

TEST_F(QmpProtocolTest, ErrorClassesAndShape) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  json r = q->execute("no-such-command");
  EXPECT_EQ(error_class(r), "CommandNotFound");
  EXPECT_EQ(error_desc(r), "The command no-such-command has not been found");
  EXPECT_EQ(r["error"].size(), 2u) << r.dump();  // class and desc only
  EXPECT_EQ(r.size(), 1u) << r.dump();

  r = q->execute("device_del", {{"id", "nope"}});
  EXPECT_EQ(error_class(r), "DeviceNotFound") << r.dump();
  EXPECT_EQ(error_desc(r), "Device 'nope' not found");

  r = q->execute("qom-get", {{"path", "/machine"}, {"property", "no-such-prop"}});
  EXPECT_EQ(error_class(r), "GenericError") << r.dump();
}

TEST_F(QmpProtocolTest, RequestShapeErrors) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  struct Case {
    const char* input;
    const char* desc;
  } cases[] = {
      {"[1, 2]\n", "QMP input must be a JSON object"},
      {"{\"id\": 1}\n", "QMP input lacks member 'execute'"},
      {"{\"execute\": \"query-status\", \"arguments\": []}\n",
       "QMP input member 'arguments' must be an object"},
      {"{\"execute\": \"query-status\", \"xyz\": 1}\n", "QMP input member 'xyz' is unexpected"},
      {"{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}\n",
       "Parameter 'x' is unexpected"},
      {"{\"execute\": \"qom-list\"}\n", "Parameter 'path' is missing"},
      {"{\"execute\": \"qom-list\", \"arguments\": {\"path\": 1}}\n",
       "Invalid parameter type for 'path', expected: string"},
  };
  for (const Case& c : cases) {
    json r = q->execute_raw(c.input);
    EXPECT_EQ(error_class(r), "GenericError") << c.input << " -> " << r.dump();
    EXPECT_EQ(error_desc(r), c.desc) << c.input;
  }
  EXPECT_TRUE(q->execute("query-status").contains("return"));
}

TEST_F(QmpProtocolTest, MalformedJsonThenGoodCommand) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->send_raw("{\"execute\": }\n"));
  ASSERT_TRUE(q->send_raw("{\"execute\": \"query-status\", \"id\": 42}\n"));
  std::vector<json> before;
  json r = reply_with_id(*q, 42, &before);
  EXPECT_TRUE(r.contains("return")) << r.dump();
  ASSERT_FALSE(before.empty()) << "no error for malformed JSON";
  for (const json& e : before) EXPECT_EQ(error_class(e), "GenericError") << e.dump();
}

TEST_F(QmpProtocolTest, BinaryGarbageThenGoodCommand) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  std::string garbage("\xff\xfe\x01\x02garbage\x00{\"\xff\x80", 16);
  ASSERT_TRUE(q->send_raw(garbage + "\n"));
  ASSERT_TRUE(q->send_raw("\xff{\"execute\": \"query-status\", \"id\": \"after\"}\n"));
  std::vector<json> before;
  json r = reply_with_id(*q, "after", &before);
  EXPECT_TRUE(r.contains("return")) << r.dump();
  EXPECT_FALSE(before.empty());
  // Output stays ASCII.
  for (unsigned char c : q->received()) ASSERT_LT(c, 0x80);
}

TEST_F(QmpProtocolTest, NestingLimit) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  // 1024 levels is accepted by the parser (and rejected as not an object).
  json r = q->execute_raw(std::string(1024, '[') + std::string(1024, ']') + "\n");
  EXPECT_EQ(error_desc(r), "QMP input must be a JSON object") << r.dump();
  // 1025 is past the limit: an error, then the connection still works.
  ASSERT_TRUE(q->send_raw(std::string(1025, '[') + std::string(1025, ']') + "\n"));
  ASSERT_TRUE(q->send_raw("{\"execute\": \"query-status\", \"id\": \"n\"}\n"));
  std::vector<json> before;
  r = reply_with_id(*q, "n", &before);
  EXPECT_TRUE(r.contains("return")) << r.dump();
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(error_class(before[0]), "GenericError");
  EXPECT_NE(error_desc(before[0]), "QMP input must be a JSON object")
      << "a value nested 1025 deep was parsed";
}

TEST_F(QmpProtocolTest, ValueSplitAcrossWritesAndSeveralPerWrite) {
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->send_raw("{\"exec"));
  std::this_thread::sleep_for(Ms(20));
  ASSERT_TRUE(
      q->send_raw("ute\":\n \"query-status\", \"id\": 1}{\"execute\": \"query-name\", "
                  "\"id\": 2}"));
  json r1 = *q->read_reply();
  json r2 = *q->read_reply();
  EXPECT_EQ(r1["id"], 1);
  EXPECT_EQ(r2["id"], 2);
}

TEST_F(QmpProtocolTest, TwoMonitorsAndEventsReachBoth) {
  auto a = m_->connect(0);
  auto b = m_->connect(1);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->execute("stop").contains("return"));
  auto ea = a->wait_event("STOP");
  auto eb = b->wait_event("STOP");
  ASSERT_TRUE(ea && eb);
  EXPECT_TRUE(ea->contains("timestamp"));
  EXPECT_TRUE((*ea)["timestamp"]["seconds"].is_number_integer());
  EXPECT_TRUE((*ea)["timestamp"]["microseconds"].is_number_integer());
  EXPECT_EQ(b->execute("query-status")["return"]["status"], "paused");
  EXPECT_TRUE(b->execute("cont").contains("return"));
  EXPECT_TRUE(a->wait_event("RESUME").has_value());
  EXPECT_TRUE(b->wait_event("RESUME").has_value());
}

TEST_F(QmpProtocolTest, ChardevAndMonOnTheSameProcess) {
  // -chardev socket server + -mon, next to -qmp.
  TempPath p("qmp");
  RawMachine m({"-M", "none", "-display", "none", "-chardev",
                "socket,id=mon1,path=" + p.str() + ",server=on,wait=off", "-mon",
                "chardev=mon1,mode=control"},
               1);
  ASSERT_TRUE(m.ok()) << m.error();
  auto a = QmpClient::connect(p.str());
  auto b = m.connect(0);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->execute("query-status").contains("return"));
  EXPECT_TRUE(b->execute("query-status").contains("return"));
  m.child().send_signal(SIGTERM);
  EXPECT_TRUE(a->wait_event("SHUTDOWN").has_value());
  EXPECT_TRUE(b->wait_event("SHUTDOWN").has_value());
  EXPECT_TRUE(m.wait_exit().ok());
}

TEST_F(QmpProtocolTest, ThousandConnectsLeaveTheProcessFine) {
  {
    auto first = m_->connect(0);
    ASSERT_TRUE(first);
  }
  // Let the server notice the disconnect, then take the baseline.
  std::this_thread::sleep_for(Ms(100));
  int baseline = count_fds(m_->pid());
  ASSERT_GT(baseline, 0);
  for (int i = 0; i < 1000; ++i) {
    Fd fd = connect_unix(m_->qmp_path(0), Ms(5000));
    ASSERT_TRUE(fd.valid()) << "connect #" << i << " failed";
    if (i % 2 == 0) {
      // Wait for the greeting so the server really served this one.
      std::string buf;
      auto deadline = std::chrono::steady_clock::now() + Ms(5000);
      while (buf.find('\n') == std::string::npos) {
        ASSERT_EQ(read_some(fd.get(), buf, deadline), ReadResult::Data) << "connect #" << i;
      }
    }
  }
  ASSERT_TRUE(m_->child().running());
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->execute("query-status").contains("return"));
  q.reset();
  int now = -1;
  for (int i = 0; i < 100; ++i) {  // up to 1 s for the last disconnect to be handled
    now = count_fds(m_->pid());
    if (now <= baseline) break;
    std::this_thread::sleep_for(Ms(10));
  }
  EXPECT_LE(now, baseline) << "fd count grew from " << baseline << " to " << now;
}

TEST_F(QmpProtocolTest, HalfAMessageThenDisconnect) {
  {
    auto q = m_->connect(0);
    ASSERT_TRUE(q);
    ASSERT_TRUE(q->send_raw("{\"execute\": \"query-sta"));
  }
  auto q = m_->connect(0);
  ASSERT_TRUE(q);
  // The new session starts with a clean parser.
  json r = q->request(json{{"execute", "query-status"}, {"id", 5}});
  EXPECT_EQ(r["id"], 5);
  EXPECT_TRUE(r.contains("return")) << r.dump();
}

TEST_F(QmpProtocolTest, SlowReaderDoesNotStallTheOtherMonitor) {
  auto slow = m_->connect(0);
  auto fast = m_->connect(1);
  ASSERT_TRUE(slow && fast);
  // Fill the slow client's socket: many large replies that it never reads.
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += "{\"execute\": \"query-commands\"}\n";
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(slow->send_raw(burst));
  auto t0 = std::chrono::steady_clock::now();
  json r = fast->execute("query-status", json(), Ms(3000));
  EXPECT_TRUE(r.contains("return")) << r.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, Ms(3000));
  slow->close();
  json r2 = fast->execute("query-version");
  EXPECT_TRUE(r2.contains("return"));
}

TEST_F(QmpProtocolTest, QtestQmpSocketGreetingAndCaps) {
  // The libqtest-style chardev client monitor behaves the same.
  QTestMachine m("-M none");
  ASSERT_TRUE(m.ok()) << m.error();
  const json& g = m.qmp_client().greeting();
  EXPECT_EQ(g["QMP"]["version"]["qemu"]["major"], 7);
  EXPECT_EQ(g["QMP"]["capabilities"], json::array({"oob"}));
  EXPECT_TRUE(m.qmp("query-status").contains("return"));
  m.quit();
}

}  // namespace
}  // namespace machina::qtest
