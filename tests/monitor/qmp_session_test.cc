#include "monitor/qmp-session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "monitor/qmp-commands.h"

namespace machina {
namespace {

class QmpHarness {
 public:
  explicit QmpHarness(QmpSessionOptions opts = {}) {
    EXPECT_TRUE(qmp_register_core_commands(reg_).ok());
    add({"echo", {{"value", QmpArgType::kAny}}, [](const json& a, QmpContext&) -> Result<json> {
           return json{{"value", a.at("value")}};
         }});
    add({"add",
         {{"a", QmpArgType::kInt}, {"b", QmpArgType::kInt}},
         [](const json& a, QmpContext&) -> Result<json> {
           return json(a.at("a").get<int64_t>() + a.at("b").get<int64_t>());
         }});
    add({"typed",
         {{"s", QmpArgType::kString},
          {"i", QmpArgType::kInt, true},
          {"u", QmpArgType::kUInt, true},
          {"b", QmpArgType::kBool, true},
          {"n", QmpArgType::kNumber, true},
          {"o", QmpArgType::kObject, true},
          {"l", QmpArgType::kArray, true}},
         [](const json&, QmpContext&) -> Result<json> { return json(); }});
    add({"fail", {}, [](const json&, QmpContext&) -> Result<json> {
           return Error{ErrorClass::DeviceNotFound, "Device 'x' not found"};
         }});
    QmpCommand free_form{"free",
                         {{"driver", QmpArgType::kString}},
                         [](const json& a, QmpContext&) -> Result<json> { return a; }};
    free_form.extra_args = true;
    add(std::move(free_form));
    add({"throws", {}, [](const json& a, QmpContext&) -> Result<json> {
           return json(a.at("missing"));  // throws out_of_range
         }});
    add({"emit", {}, [](const json&, QmpContext& ctx) -> Result<json> {
           ctx.session.send_event("INSIDE", json{{"x", 1}}, QmpTimestamp{1, 2});
           return json::object();
         }});
    QmpCommand oob{"oob-ok", {}, [](const json&, QmpContext& ctx) -> Result<json> {
                     return json{{"oob", ctx.out_of_band}};
                   }};
    oob.allow_oob = true;
    add(std::move(oob));
    session_ = std::make_unique<QmpSession>(
        reg_, "machina 9.9.9",
        [this](std::string_view s) -> size_t {
          if (blocked_) return 0;
          out_.append(s);
          return s.size();
        },
        std::move(opts));
  }

  void add(QmpCommand c) { EXPECT_TRUE(reg_.add(std::move(c)).ok()); }

  // Complete lines written since the last call; each must end in CRLF and be pure ASCII.
  std::vector<std::string> raw_lines() {
    std::vector<std::string> lines;
    size_t start = 0, pos;
    while ((pos = out_.find("\r\n", start)) != std::string::npos) {
      std::string line = out_.substr(start, pos - start);
      EXPECT_EQ(line.find('\n'), std::string::npos) << line;
      EXPECT_EQ(line.find('\r'), std::string::npos) << line;
      for (unsigned char c : line) EXPECT_LT(c, 0x80) << line;
      lines.push_back(line);
      start = pos + 2;
    }
    out_.erase(0, start);
    EXPECT_TRUE(out_.empty()) << "partial line: " << out_;
    return lines;
  }
  std::vector<json> lines() {
    std::vector<json> v;
    for (const auto& l : raw_lines()) v.push_back(json::parse(l));
    return v;
  }
  // Feeds `in` and returns the single reply.
  json exchange(std::string_view in) {
    session_->feed(in);
    auto v = lines();
    EXPECT_EQ(v.size(), 1u) << in;
    return v.empty() ? json() : v.back();
  }
  void negotiate() {
    session_->start();
    lines();
    EXPECT_EQ(exchange(R"({"execute": "qmp_capabilities"})"), json::parse(R"({"return": {}})"));
  }

  QmpCommandRegistry reg_;
  std::unique_ptr<QmpSession> session_;
  std::string out_;
  bool blocked_ = false;
};

json err(const char* cls, const std::string& desc) {
  return json{{"error", {{"class", cls}, {"desc", desc}}}};
}
json err(const char* cls, const std::string& desc, json id) {
  json e = err(cls, desc);
  e["id"] = std::move(id);
  return e;
}

TEST(QmpSession, GreetingExactBytes) {
  QmpHarness h;
  h.session_->start();
  EXPECT_EQ(h.out_,
            "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, "
            "\"package\": \"machina 9.9.9\"}, \"capabilities\": [\"oob\"]}}\r\n");
}

TEST(QmpSession, GreetingWithoutOob) {
  QmpSessionOptions o;
  o.offer_oob = false;
  QmpHarness h(std::move(o));
  h.session_->start();
  auto l = h.lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["QMP"]["capabilities"], json::array());
}

TEST(QmpSession, NegotiationModeOnlyAcceptsQmpCapabilities) {
  QmpHarness h;
  h.session_->start();
  h.lines();
  EXPECT_EQ(
      h.exchange(R"({"execute": "query-version", "id": 1})"),
      err("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'", 1));
  EXPECT_EQ(h.exchange(R"({"execute": "no-such"})"),
            err("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"));
  // Validation errors keep their own text.
  EXPECT_EQ(h.exchange(R"({"id": 2})"), err("GenericError", "QMP input lacks member 'execute'", 2));
  // Events are not delivered before negotiation.
  h.session_->send_event("STOP");
  EXPECT_TRUE(h.out_.empty());
  EXPECT_FALSE(h.session_->in_command_mode());
  EXPECT_EQ(h.exchange(R"({"execute": "qmp_capabilities", "id": "c"})"),
            json::parse(R"({"return": {}, "id": "c"})"));
  EXPECT_TRUE(h.session_->in_command_mode());
  EXPECT_FALSE(h.session_->oob_enabled());
  EXPECT_EQ(h.exchange(R"({"execute": "query-version"})"),
            json::parse(R"({"return": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                       "package": "machina 9.9.9"}})"));
}

TEST(QmpSession, SecondQmpCapabilitiesIsRefused) {
  QmpHarness h;
  h.negotiate();
  EXPECT_EQ(
      h.exchange(R"({"execute": "qmp_capabilities", "id": 7})"),
      err("CommandNotFound", "Capabilities negotiation is already complete, command ignored", 7));
}

TEST(QmpSession, CapabilityArguments) {
  {
    QmpHarness h;
    h.session_->start();
    h.lines();
    EXPECT_EQ(h.exchange(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["foo"]}})"),
              err("GenericError", "Parameter 'enable[0]' does not accept value 'foo'"));
    EXPECT_EQ(h.exchange(R"({"execute": "qmp_capabilities", "arguments": {"enable": "oob"}})"),
              err("GenericError", "Invalid parameter type for 'enable', expected: array"));
    EXPECT_EQ(h.exchange(R"({"execute": "qmp_capabilities", "arguments": {"bogus": 1}})"),
              err("GenericError", "Parameter 'bogus' is unexpected"));
    EXPECT_FALSE(h.session_->in_command_mode());
    EXPECT_EQ(h.exchange(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})"),
              json::parse(R"({"return": {}})"));
    EXPECT_TRUE(h.session_->oob_enabled());
  }
  {
    QmpSessionOptions o;
    o.offer_oob = false;
    QmpHarness h(std::move(o));
    h.session_->start();
    h.lines();
    EXPECT_EQ(h.exchange(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})"),
              err("GenericError", "Capability 'oob' not available with this monitor"));
  }
}

TEST(QmpSession, IdsOfEveryJsonTypeAreEchoedVerbatim) {
  QmpHarness h;
  h.negotiate();
  for (const char* id : {"1", "-7", "18446744073709551615", "2.5", "\"s\"", "true", "false", "null",
                         "[1, \"a\", {}]", "{\"x\": {\"y\": [null]}}", "\"\\u00e9\""}) {
    std::string req = std::string(R"({"execute": "query-version", "id": )") + id + "}";
    h.session_->feed(req);
    auto raw = h.raw_lines();
    ASSERT_EQ(raw.size(), 1u);
    json reply = json::parse(raw[0]);
    EXPECT_EQ(reply["id"], json::parse(id)) << id;
    EXPECT_TRUE(reply.contains("return"));
  }
  // Ids on errors too, with exact bytes.
  h.session_->feed(R"({"execute": "nope", "id": {"a": [1, 2]}})");
  auto raw = h.raw_lines();
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(
      raw[0],
      R"({"error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}, "id": {"a": [1, 2]}})");
}

TEST(QmpSession, RequestValidationTexts) {
  QmpHarness h;
  h.negotiate();
  EXPECT_EQ(h.exchange("[1]"), err("GenericError", "QMP input must be a JSON object"));
  EXPECT_EQ(h.exchange("\"x\" "), err("GenericError", "QMP input must be a JSON object"));
  EXPECT_EQ(h.exchange(R"({"arguments": {}})"),
            err("GenericError", "QMP input lacks member 'execute'"));
  EXPECT_EQ(h.exchange(R"({"execute": 1, "id": "a"})"),
            err("GenericError", "QMP input member 'execute' must be a string", "a"));
  EXPECT_EQ(h.exchange(R"({"execute": "echo", "arguments": []})"),
            err("GenericError", "QMP input member 'arguments' must be an object"));
  EXPECT_EQ(h.exchange(R"({"execute": "echo", "xyz": 1})"),
            err("GenericError", "QMP input member 'xyz' is unexpected"));
  // exec-oob without the oob capability is an unexpected member.
  EXPECT_EQ(h.exchange(R"({"exec-oob": "oob-ok"})"),
            err("GenericError", "QMP input member 'exec-oob' is unexpected"));
  EXPECT_EQ(h.exchange(R"({"execute": "missing-cmd", "id": 3})"),
            err("CommandNotFound", "The command missing-cmd has not been found", 3));
}

TEST(QmpSession, ExecOobRules) {
  QmpHarness h;
  h.session_->start();
  h.lines();
  h.exchange(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})");
  EXPECT_EQ(h.exchange(R"({"exec-oob": "oob-ok", "id": 1})"),
            json::parse(R"({"return": {"oob": true}, "id": 1})"));
  EXPECT_EQ(h.exchange(R"({"execute": "oob-ok"})"), json::parse(R"({"return": {"oob": false}})"));
  EXPECT_EQ(h.exchange(R"({"exec-oob": "query-version"})"),
            err("GenericError", "The command query-version does not support OOB"));
  json r = h.exchange(R"({"exec-oob": "oob-ok", "execute": "oob-ok"})");
  EXPECT_EQ(r["error"]["class"], "GenericError");
  EXPECT_NE(r["error"]["desc"].get<std::string>().find("clashes with"), std::string::npos);
  EXPECT_EQ(h.exchange(R"({"exec-oob": 5})"),
            err("GenericError", "QMP input member 'exec-oob' must be a string"));
}

TEST(QmpSession, ArgumentCheckingTexts) {
  QmpHarness h;
  h.negotiate();
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": 1, "b": 2}, "id": 0})"),
            json::parse(R"({"return": 3, "id": 0})"));
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": 1}})"),
            err("GenericError", "Parameter 'b' is missing"));
  EXPECT_EQ(h.exchange(R"({"execute": "add"})"), err("GenericError", "Parameter 'a' is missing"));
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": 1, "b": 2, "c": 3}})"),
            err("GenericError", "Parameter 'c' is unexpected"));
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": "1", "b": 2}})"),
            err("GenericError", "Invalid parameter type for 'a', expected: integer"));
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": 1.0, "b": 2}})"),
            err("GenericError", "Invalid parameter type for 'a', expected: integer"));
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": 9223372036854775808, "b": 2}})"),
            err("GenericError", "Invalid parameter type for 'a', expected: integer"));
  const std::vector<std::pair<std::string, std::string>> typed = {
      {R"({"s": 1})", "Invalid parameter type for 's', expected: string"},
      {R"({"s": "x", "u": -1})", "Invalid parameter type for 'u', expected: uint64"},
      {R"({"s": "x", "b": 1})", "Invalid parameter type for 'b', expected: boolean"},
      {R"({"s": "x", "n": "1"})", "Invalid parameter type for 'n', expected: number"},
      {R"({"s": "x", "o": []})", "Invalid parameter type for 'o', expected: object"},
      {R"({"s": "x", "l": {}})", "Invalid parameter type for 'l', expected: array"},
      {R"({"s": null})", "Invalid parameter type for 's', expected: string"},
  };
  for (const auto& [args, desc] : typed) {
    EXPECT_EQ(h.exchange(R"({"execute": "typed", "arguments": )" + args + "}"),
              err("GenericError", desc))
        << args;
  }
  EXPECT_EQ(h.exchange(
                R"({"execute": "typed", "arguments": {"s": "x", "i": -1, "u": 18446744073709551615,
                   "b": false, "n": 1, "o": {}, "l": []}})"),
            json::parse(R"({"return": {}})"));
  EXPECT_EQ(h.exchange(R"({"execute": "typed", "arguments": {"s": "x", "n": 0.5}})"),
            json::parse(R"({"return": {}})"));
  // Free-form extra members.
  EXPECT_EQ(
      h.exchange(R"({"execute": "free", "arguments": {"driver": "e1000", "mac": "x", "n": 1}})"),
      json::parse(R"({"return": {"driver": "e1000", "mac": "x", "n": 1}})"));
  EXPECT_EQ(h.exchange(R"({"execute": "free", "arguments": {"mac": "x"}})"),
            err("GenericError", "Parameter 'driver' is missing"));
}

TEST(QmpSession, HandlerErrorClassAndEmptyReturn) {
  QmpHarness h;
  h.negotiate();
  EXPECT_EQ(h.exchange(R"({"execute": "fail", "id": "f"})"),
            err("DeviceNotFound", "Device 'x' not found", "f"));
  EXPECT_EQ(h.exchange(R"({"execute": "typed", "arguments": {"s": ""}})"),
            json::parse(R"({"return": {}})"));
}

TEST(QmpSession, HandlerExceptionBecomesGenericError) {
  QmpHarness h;
  h.negotiate();
  json r = h.exchange(R"({"execute": "throws", "id": 4})");
  EXPECT_EQ(r["error"]["class"], "GenericError");
  EXPECT_EQ(r["id"], 4);
  EXPECT_EQ(h.exchange(R"({"execute": "query-version"})")["return"]["package"], "machina 9.9.9");
}

TEST(QmpSession, QueryCommandsListsRegistry) {
  QmpHarness h;
  h.negotiate();
  json r = h.exchange(R"({"execute": "query-commands"})");
  std::vector<std::string> names;
  for (const auto& e : r["return"]) names.push_back(e["name"]);
  EXPECT_EQ(names, h.reg_.names());
  for (const char* n : {"qmp_capabilities", "query-version", "query-commands", "echo"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
}

TEST(QmpSession, SingleQuotedRequest) {
  QmpHarness h;
  h.negotiate();
  EXPECT_EQ(h.exchange(R"({'execute': 'echo', 'arguments': {'value': 'it\'s "q"'}, 'id': 'x'})"),
            json::parse(R"({"return": {"value": "it's \"q\""}, "id": "x"})"));
}

TEST(QmpSession, SeveralRequestsInOneChunkAndOneSplitByteByByte) {
  QmpHarness h;
  h.negotiate();
  h.session_->feed(R"({"execute": "add", "arguments": {"a": 1, "b": 1}, "id": 1}{"execute": "add",
    "arguments": {"a": 2, "b": 2}, "id": 2}
{"execute": "add", "arguments": {"a": 3, "b": 3}, "id": 3})");
  auto l = h.lines();
  ASSERT_EQ(l.size(), 3u);
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(l[i]["id"], i + 1);
    EXPECT_EQ(l[i]["return"], 2 * (i + 1));
  }
  std::string req = R"({"execute": "echo", "arguments": {"value": [1, {"k": "v"}]}, "id": "b"})";
  for (char c : req) {
    EXPECT_TRUE(h.out_.empty());
    h.session_->feed(std::string_view(&c, 1));
  }
  EXPECT_EQ(h.lines().at(0), json::parse(R"({"return": {"value": [1, {"k": "v"}]}, "id": "b"})"));
}

TEST(QmpSession, ParseErrorsReplyWithoutIdAndSessionContinues) {
  QmpHarness h;
  h.negotiate();
  EXPECT_EQ(h.exchange("{\"execute\": \"echo\" \"id\": 1}"),
            err("GenericError", "JSON parse error, expected separator in dict"));
  EXPECT_EQ(h.exchange("{\"execute\" \"echo\"}"),
            err("GenericError", "JSON parse error, missing : in object pair"));
  h.session_->feed("{\"execute\": \x01");
  auto l = h.lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["error"]["desc"], "JSON parse error, stray '\x01'");
  EXPECT_FALSE(l[0].contains("id"));
  EXPECT_EQ(h.exchange("\n{\"execute\": \"query-version\", \"id\": 9}")["id"], 9);
}

TEST(QmpSession, ResyncWithFFAfterGarbage) {
  QmpHarness h;
  h.negotiate();
  h.session_->feed("{\"execute\": \"echo\", \"arguments\": {\"value\": [1, 2, ");
  EXPECT_TRUE(h.out_.empty());
  h.session_->feed("\xff");
  auto l = h.lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["error"]["class"], "GenericError");
  EXPECT_EQ(l[0]["error"]["desc"], "JSON parse error, stray '\xef\xbf\xbd'");  // U+FFFD on wire
  EXPECT_EQ(h.exchange("{\"execute\": \"add\", \"arguments\": {\"a\": 5, \"b\": 6}}")["return"],
            11);
}

TEST(QmpSession, NestingLimitThenNextRequestWorks) {
  QmpHarness h;
  h.negotiate();
  std::string deep = R"({"execute": "echo", "arguments": {"value": )";
  deep += std::string(1023, '[') + std::string(1023, ']') + "}}";  // depth 1025
  EXPECT_EQ(h.exchange(deep), err("GenericError", "JSON nesting depth limit exceeded"));
  EXPECT_EQ(h.exchange(R"({"execute": "add", "arguments": {"a": 1, "b": 2}, "id": 1})")["return"],
            3);
  // Depth 1024 is fine, and the echoed value survives the writer.
  std::string ok = R"({"execute": "echo", "arguments": {"value": )";
  ok += std::string(1022, '[') + std::string(1022, ']') + "}}";
  json r = h.exchange(ok);
  ASSERT_TRUE(r.contains("return"));
}

TEST(QmpSession, HugeStringRejectedThenNextRequestWorks) {
  QmpSessionOptions o;
  o.limits.max_value_bytes = 1 << 16;
  QmpHarness h(std::move(o));
  h.negotiate();
  std::string req = R"({"execute": "echo", "arguments": {"value": ")" + std::string(200000, 'a') +
                    "\"}, \"id\": 1}";
  EXPECT_EQ(h.exchange(req), err("GenericError", "JSON token size limit exceeded"));
  EXPECT_EQ(h.exchange(R"({"execute": "query-version", "id": 2})")["id"], 2);
}

TEST(QmpSession, EventsOnlyInCommandModeAndNeverInsideAResponse) {
  QmpHarness h;
  h.negotiate();
  h.session_->send_event("SHUTDOWN", json{{"guest", false}, {"reason", "host-qmp-quit"}},
                         QmpTimestamp{1700000000, 123456});
  h.session_->send_event("STOP", std::nullopt, QmpTimestamp{5, 6});
  auto raw = h.raw_lines();
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(
      raw[0],
      R"({"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}, "timestamp": {"seconds": 1700000000, "microseconds": 123456}})");
  EXPECT_EQ(raw[1], R"({"event": "STOP", "timestamp": {"seconds": 5, "microseconds": 6}})");
  // An event raised by a handler is a line of its own, before the reply.
  h.session_->feed(R"({"execute": "emit", "id": 1})");
  raw = h.raw_lines();
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(
      raw[0],
      R"({"event": "INSIDE", "data": {"x": 1}, "timestamp": {"seconds": 1, "microseconds": 2}})");
  EXPECT_EQ(raw[1], R"({"return": {}, "id": 1})");
  // Event while a request is only partly received: it goes out whole, before the reply.
  h.session_->feed(R"({"execute": "add", "argu)");
  h.session_->send_event("RESUME");
  h.session_->feed(R"(ments": {"a": 1, "b": 1}})");
  auto l = h.lines();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["event"], "RESUME");
  EXPECT_GT(l[0]["timestamp"]["seconds"].get<int64_t>(), 1600000000);
  EXPECT_EQ(l[1]["return"], 2);
}

TEST(QmpSession, OutputEscapingOnTheWire) {
  QmpHarness h;
  h.negotiate();
  h.session_->feed(
      "{\"execute\": \"echo\", \"arguments\": {\"value\": "
      "\"a\\r\\nb\xc3\xa9\xf0\x9f\x98\x80\\u0007\"}}");
  auto raw = h.raw_lines();
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0], R"({"return": {"value": "a\r\nb\u00E9\uD83D\uDE00\u0007"}})");
}

TEST(QmpSession, SlowReaderIsDropped) {
  QmpSessionOptions o;
  o.max_pending_output = 4096;
  bool dropped_cb = false;
  o.on_drop = [&] { dropped_cb = true; };
  QmpHarness h(std::move(o));
  h.negotiate();
  h.blocked_ = true;
  for (int i = 0; i < 20 && !h.session_->dropped(); i++) {
    h.session_->feed(R"({"execute": "query-version", "id": 1})");
  }
  EXPECT_FALSE(h.session_->dropped());  // ~120 bytes each, still under the bound
  for (int i = 0; i < 100 && !h.session_->dropped(); i++) {
    h.session_->send_event("STOP");
  }
  EXPECT_TRUE(h.session_->dropped());
  EXPECT_TRUE(dropped_cb);
  EXPECT_EQ(h.session_->pending_output(), 0u);
  // Nothing more is produced once dropped.
  h.blocked_ = false;
  h.session_->feed(R"({"execute": "query-version"})");
  h.session_->flush_output();
  EXPECT_TRUE(h.out_.empty());
}

TEST(QmpSession, PartialWritesAreQueuedAndFlushed) {
  QmpCommandRegistry reg;
  ASSERT_TRUE(qmp_register_core_commands(reg).ok());
  std::string out;
  size_t budget = 10;
  QmpSession s(reg, "p", [&](std::string_view d) {
    size_t n = std::min(budget, d.size());
    out.append(d.substr(0, n));
    budget -= n;
    return n;
  });
  s.start();
  EXPECT_EQ(out.size(), 10u);
  EXPECT_GT(s.pending_output(), 0u);
  budget = 1 << 20;
  s.flush_output();
  EXPECT_EQ(s.pending_output(), 0u);
  EXPECT_EQ(json::parse(out)["QMP"]["version"]["package"], "p");
  EXPECT_EQ(out.substr(out.size() - 2), "\r\n");
}

TEST(QmpSession, NoSinkAccumulatesForTakeOutput) {
  QmpCommandRegistry reg;
  ASSERT_TRUE(qmp_register_core_commands(reg).ok());
  QmpSession s(reg, "p");
  s.feed(R"({"execute": "qmp_capabilities"})");
  std::string out = s.take_output();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_NE(out.find("{\"return\": {}}\r\n"), std::string::npos);
}

TEST(QmpSession, BinaryGarbageThenValidRequest) {
  QmpHarness h;
  h.negotiate();
  uint32_t x = 99;
  std::string junk;
  for (int i = 0; i < 100000; i++) {
    x = x * 1664525 + 1013904223;
    junk += static_cast<char>(x >> 24);
  }
  h.session_->feed(junk);
  h.raw_lines();  // every reply is a well-formed ASCII CRLF line
  EXPECT_FALSE(h.session_->dropped());
  h.session_->feed(
      "\xff\n{\"execute\": \"add\", \"arguments\": {\"a\": 2, \"b\": 3}, \"id\": \"z\"}");
  auto l = h.lines();
  ASSERT_FALSE(l.empty());
  EXPECT_EQ(l.back(), json::parse(R"({"return": 5, "id": "z"})"));
}

TEST(QmpSession, EndOfInputReportsIncompleteRequest) {
  QmpHarness h;
  h.negotiate();
  h.session_->feed(R"({"execute": "add")");
  h.session_->end_of_input();
  EXPECT_EQ(h.lines().at(0), err("GenericError", "JSON parse error, premature EOI"));
}

}  // namespace
}  // namespace machina
