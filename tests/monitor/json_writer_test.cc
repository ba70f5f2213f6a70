#include "monitor/json-writer.h"

#include <gtest/gtest.h>

#include <string>

namespace machina {
namespace {

TEST(JsonWriter, QemuSpacing) {
  json v = json::parse(R"({"a": [1, 2, {}], "b": {"c": null, "d": true}, "e": []})");
  EXPECT_EQ(json_to_qmp_text(v), R"({"a": [1, 2, {}], "b": {"c": null, "d": true}, "e": []})");
}

TEST(JsonWriter, NumbersAsQemuPrintsThem) {
  json v = json::array({-5, 18446744073709551615ull, 1.5, 0.1});
  EXPECT_EQ(json_to_qmp_text(v), "[-5, 18446744073709551615, 1.5, 0.10000000000000001]");
}

TEST(JsonWriter, EscapesControlAndNonAscii) {
  std::string s = "q\"b\\/\b\f\n\r\t\x01\x7f";
  s += "\xc3\xa9";          // U+00E9
  s += "\xe2\x82\xac";      // U+20AC
  s += "\xf0\x9f\x98\x80";  // U+1F600: surrogate pair
  s += std::string("\0", 1);
  EXPECT_EQ(json_to_qmp_text(json(s)),
            "\"q\\\"b\\\\/\\b\\f\\n\\r\\t\\u0001\\u007F\\u00E9\\u20AC\\uD83D\\uDE00\\u0000\"");
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacter) {
  std::string s =
      "a\xff"
      "b\xc3"
      "c\xed\xa0\x80";
  EXPECT_EQ(json_to_qmp_text(json(s)), "\"a\\uFFFDb\\uFFFDc\\uFFFD\"");
}

TEST(JsonWriter, OutputIsPureAsciiAndReparses) {
  json v = {{"k\xc3\xa9y", "v\xe2\x82\xac"}, {"n", json::array({1, "x"})}};
  std::string text = json_to_qmp_text(v);
  for (unsigned char c : text) EXPECT_LT(c, 0x80);
  EXPECT_EQ(json::parse(text), v);
}

TEST(JsonWriter, NonFiniteDoublesStayValidJson) {
  EXPECT_EQ(json_to_qmp_text(json(std::numeric_limits<double>::infinity())), "null");
}

TEST(Utf8, DecodeRules) {
  auto decode = [](std::string s) {
    size_t pos = 0;
    return utf8_decode_one(s, pos);
  };
  EXPECT_EQ(decode("A"), 'A');
  EXPECT_EQ(decode("\xc0\x80"), 0);           // modified UTF-8 NUL
  EXPECT_EQ(decode("\xc1\x81"), -1);          // overlong
  EXPECT_EQ(decode("\xef\xbf\xbf"), -1);      // U+FFFF noncharacter
  EXPECT_EQ(decode("\xf4\x90\x80\x80"), -1);  // > U+10FFFF
  EXPECT_EQ(decode("\x80"), -1);
  EXPECT_EQ(decode("\xe2\x82"), -1);
  EXPECT_EQ(decode("\xf0\x9f\x98\x80"), 0x1F600);
}

}  // namespace
}  // namespace machina
