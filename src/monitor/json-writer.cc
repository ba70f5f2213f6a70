#include "monitor/json-writer.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace machina {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void append_u16_escape(std::string& out, uint32_t cp) {
  out += "\\u";
  out += kHex[(cp >> 12) & 0xF];
  out += kHex[(cp >> 8) & 0xF];
  out += kHex[(cp >> 4) & 0xF];
  out += kHex[cp & 0xF];
}

void write_number_float(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no Inf/NaN
    return;
  }
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%.17g", d);
  out.append(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace

bool unicode_codepoint_valid(uint32_t cp) {
  if (cp > 0x10FFFF) return false;
  if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;  // noncharacter
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;                               // surrogate
  return true;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int32_t utf8_decode_one(std::string_view s, size_t& i) {
  auto byte = static_cast<uint8_t>(s[i++]);
  if (byte < 0x80) return byte;
  if (byte >= 0xFE || (byte & 0x40) == 0) return -1;  // impossible byte or stray continuation
  unsigned len = 0;
  uint8_t mask = 0x80;
  for (; byte & mask; mask >>= 1) len++;
  uint32_t cp = byte & (mask - 1);
  for (unsigned k = 1; k < len; k++) {
    if (i >= s.size() || (static_cast<uint8_t>(s[i]) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (static_cast<uint8_t>(s[i++]) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};
  if (cp == 0 && len == 2) return 0;  // "\xC0\x80": modified UTF-8 for U+0000
  if (!unicode_codepoint_valid(cp) || cp < kMin[len - 2]) return -1;
  return static_cast<int32_t>(cp);
}

void json_write_string(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    int32_t cp = utf8_decode_one(s, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        uint32_t c = cp < 0 ? 0xFFFD : static_cast<uint32_t>(cp);
        if (c > 0xFFFF) {
          append_u16_escape(out, 0xD800 + ((c - 0x10000) >> 10));
          append_u16_escape(out, 0xDC00 + ((c - 0x10000) & 0x3FF));
        } else if (c < 0x20 || c >= 0x7F) {
          append_u16_escape(out, c);
        } else {
          out += static_cast<char>(c);
        }
      }
    }
  }
  out += '"';
}

void json_write(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        if (!first) out += ", ";
        first = false;
        json_write_string(out, k);
        out += ": ";
        json_write(out, v);
      }
      out += '}';
      break;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : value) {
        if (!first) out += ", ";
        first = false;
        json_write(out, v);
      }
      out += ']';
      break;
    }
    case json::value_t::string:
      json_write_string(out, value.get_ref<const std::string&>());
      break;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      break;
    case json::value_t::number_integer:
      out += std::to_string(value.get<int64_t>());
      break;
    case json::value_t::number_unsigned:
      out += std::to_string(value.get<uint64_t>());
      break;
    case json::value_t::number_float:
      write_number_float(out, value.get<double>());
      break;
    case json::value_t::null:
    case json::value_t::binary:
    case json::value_t::discarded:
      out += "null";
      break;
  }
}

std::string json_to_qmp_text(const json& value) {
  std::string out;
  json_write(out, value);
  return out;
}

}  // namespace machina
