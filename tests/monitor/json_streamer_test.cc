#include "monitor/json-streamer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace machina {
namespace {

struct Collected {
  std::vector<json> values;
  std::vector<std::string> errors;
  std::vector<bool> order;  // true = value, false = error
};

class StreamerTest : public ::testing::Test {
 protected:
  explicit StreamerTest(JsonStreamerLimits limits = {})
      : streamer_(
            [this](Result<json> r) {
              if (r.ok()) {
                got_.values.push_back(r.value());
                got_.order.push_back(true);
              } else {
                got_.errors.push_back(r.message());
                got_.order.push_back(false);
              }
            },
            limits) {}
  Collected got_;
  JsonStreamer streamer_;
};

TEST_F(StreamerTest, SeveralValuesInOneChunk) {
  streamer_.feed("{\"a\": 1}[1,2]\"s\" 42 true{}");
  ASSERT_TRUE(got_.errors.empty());
  // 42 and true complete only when a following byte ends them; {} ends the keyword.
  ASSERT_EQ(got_.values.size(), 6u);
  EXPECT_EQ(got_.values[0], json::parse(R"({"a":1})"));
  EXPECT_EQ(got_.values[1], json::parse("[1,2]"));
  EXPECT_EQ(got_.values[2], "s");
  EXPECT_EQ(got_.values[3], 42);
  EXPECT_EQ(got_.values[4], true);
  EXPECT_EQ(got_.values[5], json::object());
  EXPECT_TRUE(streamer_.idle());
}

TEST_F(StreamerTest, ValueSplitByteByByte) {
  std::string text = "{\"execute\": 'qom-get',\n \"arguments\": {\"path\": [1, 2.5, -3e2, null]}}";
  for (char c : text) {
    EXPECT_TRUE(got_.values.empty());
    streamer_.feed(std::string_view(&c, 1));
  }
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_TRUE(got_.errors.empty());
  EXPECT_EQ(got_.values[0]["execute"], "qom-get");
  EXPECT_EQ(got_.values[0]["arguments"]["path"], json::parse("[1, 2.5, -300.0, null]"));
}

TEST_F(StreamerTest, SingleQuotedStringsAndEscapes) {
  streamer_.feed(R"(['it\'s', "say \"hi\"", 'a"b', "\u00e9\ud83d\ude00\/\b\f\n\r\t"] )");
  ASSERT_EQ(got_.values.size(), 1u) << (got_.errors.empty() ? "" : got_.errors[0]);
  const json& v = got_.values[0];
  EXPECT_EQ(v[0], "it's");
  EXPECT_EQ(v[1], "say \"hi\"");
  EXPECT_EQ(v[2], "a\"b");
  EXPECT_EQ(v[3], "\xc3\xa9\xf0\x9f\x98\x80/\b\f\n\r\t");
}

TEST_F(StreamerTest, NumbersFollowQemuRepresentation) {
  streamer_.feed("[0, -0, 9223372036854775807, 9223372036854775808, -9223372036854775809, 1.5]");
  ASSERT_EQ(got_.values.size(), 1u);
  const json& v = got_.values[0];
  EXPECT_TRUE(v[2].is_number_integer());
  EXPECT_EQ(v[2].get<int64_t>(), INT64_MAX);
  EXPECT_TRUE(v[3].is_number_unsigned());
  EXPECT_EQ(v[3].get<uint64_t>(), 9223372036854775808ull);
  EXPECT_TRUE(v[4].is_number_float());
  EXPECT_TRUE(v[5].is_number_float());
}

TEST_F(StreamerTest, StrayByteIsLexicalErrorThenResync) {
  streamer_.feed("{\"a\": \x01}");
  // The control character is reported; recovery restarts at '}' which is then a stray closer.
  ASSERT_GE(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON parse error, stray '\x01'");
  got_ = {};
  streamer_.feed("\n{\"ok\": true}");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0]["ok"], true);
}

TEST_F(StreamerTest, FFByteResetsPartialValue) {
  streamer_.feed("{\"execute\": \"x\", \"argu");
  EXPECT_FALSE(streamer_.idle());
  streamer_.feed("\xff");
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0].rfind("JSON parse error, stray '", 0), 0u);
  streamer_.feed("{\"a\": 1}");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0]["a"], 1);
}

TEST_F(StreamerTest, RecoverySkipsUntilStructuralCharacter) {
  streamer_.feed("@abc \"def\" [1]");
  // '@' is stray; "abc \"def\" " is skipped; '[' resynchronises.
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON parse error, stray '@'");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0], json::parse("[1]"));
}

TEST_F(StreamerTest, LexicalErrorsInNumbersAndStrings) {
  streamer_.feed("01 ");
  streamer_.feed("\n-x ");
  streamer_.feed("\n1.e5 ");
  streamer_.feed("\n\"tab\tinside\" ");
  ASSERT_EQ(got_.errors.size(), 4u);
  EXPECT_EQ(got_.errors[0], "JSON parse error, stray '01'");
  EXPECT_EQ(got_.errors[1], "JSON parse error, stray '-x'");
  EXPECT_EQ(got_.errors[2], "JSON parse error, stray '1.e'");
  EXPECT_EQ(got_.errors[3], "JSON parse error, stray '\"tab\t'");
}

TEST_F(StreamerTest, ParserErrorsUseQemuTexts) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"a\" 1}", "JSON parse error, missing : in object pair"},
      {"{1: 2}", "JSON parse error, key is not a string in object"},
      {"[1 2]", "JSON parse error, expected separator in list"},
      {"{\"a\": 1 \"b\": 2}", "JSON parse error, expected separator in dict"},
      {"[1,]", "JSON parse error, expecting value"},
      {"}", "JSON parse error, expecting value"},
      {"{\"a\": 1, \"a\": 2}", "JSON parse error, duplicate key"},
      {"[nope]", "JSON parse error, invalid keyword 'nope'"},
      {"\"\\x\"", "JSON parse error, invalid escape sequence in string"},
      {"\"\\ud800\"", "JSON parse error, \\ud800 is not a valid Unicode character"},
      {"\"\\uzzzz\"", "JSON parse error, \\uzzzz is not a valid Unicode character"},
      {"\"\xc3\"", "JSON parse error, invalid UTF-8 sequence in string"},
      {"\"\xed\xa0\x80\"", "JSON parse error, invalid UTF-8 sequence in string"},
      {"[1}", "JSON parse error, expected separator in list"},
  };
  for (const auto& [in, want] : cases) {
    got_ = {};
    streamer_.reset();
    streamer_.feed(in);
    streamer_.feed("\n");
    ASSERT_EQ(got_.errors.size(), 1u) << in;
    EXPECT_EQ(got_.errors[0], want) << in;
    EXPECT_TRUE(got_.values.empty()) << in;
  }
}

TEST_F(StreamerTest, ModifiedUtf8NulAndEscapedNul) {
  streamer_.feed(
      "[\"a\\u0000b\", \"c\xc0\x80"
      "d\"]");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0][0].get<std::string>(), std::string("a\0b", 3));
  EXPECT_EQ(got_.values[0][1].get<std::string>(), std::string("c\0d", 3));
}

TEST_F(StreamerTest, FlushReportsIncompleteValueAndPendingScalar) {
  streamer_.feed("123");
  EXPECT_TRUE(got_.values.empty());
  streamer_.flush();
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0], 123);
  streamer_.feed("{\"a\": [1");
  streamer_.flush();
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON parse error, premature EOI");
  EXPECT_TRUE(streamer_.idle());
}

TEST_F(StreamerTest, NestingLimitDiscardsValueOnceAndStreamStaysUsable) {
  std::string deep(1025, '[');
  deep += std::string(1025, ']');
  streamer_.feed(deep);
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON nesting depth limit exceeded");
  EXPECT_TRUE(got_.values.empty());
  EXPECT_TRUE(streamer_.idle());
  streamer_.feed("{\"after\": 1}");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0]["after"], 1);
}

TEST_F(StreamerTest, DepthExactly1024IsAccepted) {
  std::string deep(1024, '[');
  deep += std::string(1024, ']');
  streamer_.feed(deep);
  ASSERT_TRUE(got_.errors.empty()) << got_.errors[0];
  ASSERT_EQ(got_.values.size(), 1u);
  const json* p = &got_.values[0];
  int depth = 1;
  while (!p->empty()) {
    p = &(*p)[0];
    depth++;
  }
  EXPECT_EQ(depth, 1024);
}

TEST_F(StreamerTest, DeepObjectsAndMixedNestingDoNotRecurse) {
  // 100k openers: rejected at 1025, the rest skipped without recursion or buffering.
  std::string deep;
  for (int i = 0; i < 100000; i++) deep += "{\"a\":[";
  streamer_.feed(deep);
  EXPECT_EQ(got_.errors.size(), 1u);
  // A lexical error abandons the discarded value.
  streamer_.feed("\xff");
  streamer_.feed("[2]");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0], json::parse("[2]"));
}

class SmallLimitsTest : public StreamerTest {
 protected:
  SmallLimitsTest() : StreamerTest(JsonStreamerLimits{1000, 50, 1024}) {}
};

TEST_F(SmallLimitsTest, TokenCountLimit) {
  std::string many = "[";
  for (int i = 0; i < 60; i++) many += "1,";
  many += "1]";
  streamer_.feed(many);
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON token count limit exceeded");
  streamer_.feed("[1,2]");
  ASSERT_EQ(got_.values.size(), 1u);
}

TEST_F(SmallLimitsTest, HugeStringInsideValueIsSkippedToItsEnd) {
  std::string in = "{\"a\": \"" + std::string(5000, 'x') + "]}{\" , \"b\": [1]}";
  streamer_.feed(in);
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON token size limit exceeded");
  EXPECT_TRUE(got_.values.empty());
  EXPECT_TRUE(streamer_.idle());
  streamer_.feed("'ok'\n");
  ASSERT_EQ(got_.values.size(), 1u);
  EXPECT_EQ(got_.values[0], "ok");
}

TEST_F(SmallLimitsTest, HugeTopLevelStringSplitInChunks) {
  streamer_.feed("\"");
  for (int i = 0; i < 100; i++) streamer_.feed(std::string(100, 'y'));
  streamer_.feed("\"");
  ASSERT_EQ(got_.errors.size(), 1u);
  EXPECT_EQ(got_.errors[0], "JSON token size limit exceeded");
  EXPECT_TRUE(streamer_.idle());
  streamer_.feed("[3]");
  ASSERT_EQ(got_.values.size(), 1u);
}

TEST(JsonStreamerDefaultLimits, SixtyFourMebibyteStringIsRejectedNextValueWorks) {
  std::vector<std::string> errors;
  std::vector<json> values;
  JsonStreamer s([&](Result<json> r) {
    if (r.ok()) {
      values.push_back(r.value());
    } else {
      errors.push_back(r.message());
    }
  });
  std::string chunk(1 << 20, 'z');
  s.feed("{\"execute\": \"");
  for (int i = 0; i < 65; i++) s.feed(chunk);
  s.feed("\"}");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "JSON token size limit exceeded");
  s.feed("{\"execute\": \"query-version\"}");
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0]["execute"], "query-version");
}

TEST(JsonStreamerGarbage, BinaryGarbageNeverCrashesAndStreamRecovers) {
  int count = 0;
  JsonStreamer s([&](Result<json>) { count++; });
  uint32_t x = 12345;
  std::string junk;
  for (int i = 0; i < 200000; i++) {
    x = x * 1103515245 + 12345;
    junk += static_cast<char>(x >> 16);
  }
  s.feed(junk);
  EXPECT_GT(count, 0);
  std::vector<json> values;
  JsonStreamer s2([&](Result<json> r) {
    if (r.ok()) values.push_back(r.value());
  });
  s2.feed(junk);
  s2.feed("\xff\n{\"x\": 1}");
  ASSERT_FALSE(values.empty());
  EXPECT_EQ(values.back(), json::parse(R"({"x":1})"));
}

}  // namespace
}  // namespace machina
