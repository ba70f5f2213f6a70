// Base64 (RFC 4648, standard alphabet, '=' padding) for qtest's b64read / b64write.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace machina {

std::string base64_encode(const uint8_t* data, size_t len);
// Lenient like GLib's decoder: characters outside the alphabet are skipped and decoding stops at
// the first '='. A trailing partial group of 2 or 3 characters yields 1 or 2 bytes.
std::vector<uint8_t> base64_decode(std::string_view text);

}  // namespace machina
