#include "accel/qtest/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace machina {
namespace {

std::string enc(std::string_view s) {
  return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
std::string dec(std::string_view s) {
  auto v = base64_decode(s);
  return std::string(v.begin(), v.end());
}

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  const uint8_t bin[] = {0xff, 0xfe, 0x00, 0x3e, 0x3f};
  EXPECT_EQ(base64_encode(bin, sizeof(bin)), "//4APj8=");
}

TEST(Base64, DecodesAndRoundTrips) {
  EXPECT_EQ(dec("Zm9vYmFy"), "foobar");
  EXPECT_EQ(dec("Zm9vYg=="), "foob");
  EXPECT_EQ(dec("Zm9vYmE="), "fooba");
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  EXPECT_EQ(dec(enc(all)), all);
}

TEST(Base64, DecoderIsLenient) {
  EXPECT_EQ(dec("Zm9v\nYmFy"), "foobar");  // junk skipped
  EXPECT_EQ(dec("Zm8=Zm9v"), "fo");        // stops at '='
  EXPECT_EQ(dec("Zm9"), "fo");             // unpadded tail
  EXPECT_EQ(dec("Z"), "");                 // lone char: no whole byte
  EXPECT_EQ(dec("!!!"), "");
}

}  // namespace
}  // namespace machina
