#include "util/cutils.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace machina {

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "on" || s == "yes" || s == "true" || s == "y") return true;
  if (s == "off" || s == "no" || s == "false" || s == "n") return false;
  return std::nullopt;
}

namespace {

bool parse_magnitude(std::string_view s, uint64_t* out, bool* negative) {
  if (s.empty()) return false;
  *negative = false;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    *negative = s[0] == '-';
    i = 1;
  }
  std::string body(s.substr(i));
  if (body.empty() || body[0] == '-' || body[0] == '+' || body[0] == ' ') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(body.c_str(), &end, 0);
  if (errno != 0 || end == body.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> parse_int64(std::string_view s) {
  uint64_t mag;
  bool neg;
  if (!parse_magnitude(s, &mag, &neg)) return std::nullopt;
  if (neg) {
    if (mag > uint64_t(INT64_MAX) + 1) return std::nullopt;
    return mag == uint64_t(INT64_MAX) + 1 ? INT64_MIN : -int64_t(mag);
  }
  if (mag > uint64_t(INT64_MAX)) return std::nullopt;
  return int64_t(mag);
}

std::optional<uint64_t> parse_uint64(std::string_view s) {
  uint64_t mag;
  bool neg;
  if (!parse_magnitude(s, &mag, &neg) || neg) return std::nullopt;
  return mag;
}

std::optional<uint64_t> parse_size(std::string_view s) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || s[0] == ' ') return std::nullopt;
  std::string str(s);
  const char* begin = str.c_str();
  char* end = nullptr;
  // Integer part first, so that large byte counts keep full precision.
  errno = 0;
  unsigned long long whole = std::strtoull(begin, &end, 10);
  if (errno != 0 || end == begin) return std::nullopt;
  double frac = 0;
  bool has_frac = false;
  if (*end == '.') {
    char* fend = nullptr;
    double f = std::strtod(end, &fend);
    if (fend == end + 1) return std::nullopt;
    frac = f;
    has_frac = true;
    end = fend;
  }
  uint64_t mult = 1;
  if (*end) {
    switch (*end) {
      case 'b':
      case 'B':
        mult = 1;
        break;
      case 'k':
      case 'K':
        mult = 1ull << 10;
        break;
      case 'm':
      case 'M':
        mult = 1ull << 20;
        break;
      case 'g':
      case 'G':
        mult = 1ull << 30;
        break;
      case 't':
      case 'T':
        mult = 1ull << 40;
        break;
      case 'p':
      case 'P':
        mult = 1ull << 50;
        break;
      case 'e':
      case 'E':
        mult = 1ull << 60;
        break;
      default:
        return std::nullopt;
    }
    ++end;
    if (*end) return std::nullopt;
  }
  if (has_frac && mult == 1) return std::nullopt;  // "1.5" bytes is meaningless
  if (whole > UINT64_MAX / mult) return std::nullopt;
  uint64_t v = whole * mult;
  if (has_frac) {
    double extra = frac * double(mult);
    if (double(v) + extra >= 18446744073709551616.0) return std::nullopt;
    v += uint64_t(std::llround(extra));
  }
  return v;
}

}  // namespace machina
