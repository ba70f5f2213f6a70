#include "monitor/json-streamer.h"

#include <charconv>
#include <cstdlib>
#include <utility>

#include "monitor/json-writer.h"

namespace machina {

namespace {

using TokenType = JsonStreamer::TokenType;

// An error token's text is quoted in the message; keep that message short.
constexpr size_t kMaxStrayText = 256;
// Buffers bigger than this are released after each value instead of being kept for reuse.
constexpr size_t kKeepCapacity = size_t{1} << 20;

bool is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

Error parse_error(std::string_view what) {
  return generic_error("JSON parse error, " + std::string(what));
}

int hex4(std::string_view s, size_t pos) {
  if (pos + 4 > s.size()) return -1;
  int cp = 0;
  for (size_t k = 0; k < 4; k++) {
    char c = s[pos + k];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = 10 + c - 'a';
    } else if (c >= 'A' && c <= 'F') {
      d = 10 + c - 'A';
    } else {
      return -1;
    }
    cp = (cp << 4) | d;
  }
  return cp;
}

// Decodes a string token (with its quotes; the lexer guarantees the closing quote).
Result<json> decode_string(std::string_view tok) {
  std::string out;
  out.reserve(tok.size());
  const size_t end = tok.size() - 1;
  size_t i = 1;
  while (i < end) {
    if (tok[i] != '\\') {
      int32_t cp = utf8_decode_one(tok.substr(0, end), i);
      if (cp < 0) return parse_error("invalid UTF-8 sequence in string");
      utf8_append(out, static_cast<uint32_t>(cp));
      continue;
    }
    const size_t beg = i++;
    char e = tok[i++];
    switch (e) {
      case '"':
      case '\'':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        int cp = hex4(tok.substr(0, end), i);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < end && tok[i] == '\\' && tok[i + 1] == 'u') {
          int trail = hex4(tok.substr(0, end), i + 2);
          if (trail >= 0xDC00 && trail <= 0xDFFF) {
            cp = 0x10000 + ((cp & 0x3FF) << 10) + (trail & 0x3FF);
            i += 6;
          } else {
            cp = -1;
          }
        }
        if (cp < 0 || !unicode_codepoint_valid(static_cast<uint32_t>(cp))) {
          size_t stop = i < end ? i : end;
          return parse_error(std::string(tok.substr(beg, stop - beg)) +
                             " is not a valid Unicode character");
        }
        utf8_append(out, static_cast<uint32_t>(cp));
        break;
      }
      default:
        return parse_error("invalid escape sequence in string");
    }
  }
  return json(std::move(out));
}

json decode_number(std::string_view tok, TokenType type) {
  const char* first = tok.data();
  const char* last = tok.data() + tok.size();
  if (type == TokenType::kInteger) {
    int64_t v = 0;
    auto r = std::from_chars(first, last, v);
    if (r.ec == std::errc() && r.ptr == last) return json(v);
    if (tok[0] != '-') {
      uint64_t u = 0;
      auto ru = std::from_chars(first, last, u);
      if (ru.ec == std::errc() && ru.ptr == last) return json(u);
    }
  }
  std::string s(tok);
  return json(std::strtod(s.c_str(), nullptr));
}

Result<json> decode_scalar(const JsonStreamer::Token& t, std::string_view text) {
  std::string_view tok = text.substr(t.offset, t.length);
  switch (t.type) {
    case TokenType::kString:
      return decode_string(tok);
    case TokenType::kInteger:
    case TokenType::kFloat:
      return decode_number(tok, t.type);
    case TokenType::kKeyword:
      if (tok == "true") return json(true);
      if (tok == "false") return json(false);
      if (tok == "null") return json(nullptr);
      return parse_error("invalid keyword '" + std::string(tok) + "'");
    default:
      return parse_error("expecting value");
  }
}

struct Frame {
  json value;
  bool is_object;
  bool awaiting_key = true;
  std::string key;
};

}  // namespace

Result<json> json_parse_tokens(const std::vector<JsonStreamer::Token>& tokens,
                               std::string_view text) {
  const size_t n = tokens.size();
  size_t pos = 0;
  std::vector<Frame> stack;
  json value;
  for (;;) {
    // Parse the value starting at pos; containers push a frame and parse their first member.
    if (pos >= n) return parse_error("premature EOI");
    const TokenType tt = tokens[pos].type;
    if (tt == TokenType::kLCurly || tt == TokenType::kLSquare) {
      const bool is_object = tt == TokenType::kLCurly;
      const TokenType closer = is_object ? TokenType::kRCurly : TokenType::kRSquare;
      pos++;
      if (pos >= n) return parse_error("premature EOI");
      if (tokens[pos].type != closer) {
        stack.push_back(Frame{is_object ? json::object() : json::array(), is_object});
        continue;
      }
      pos++;
      value = is_object ? json::object() : json::array();
    } else {
      auto r = decode_scalar(tokens[pos], text);
      if (!r.ok()) return r;
      value = std::move(r.value());
      pos++;
    }

    // Hand the completed value to the enclosing containers, closing those that end here.
    bool need_value = false;
    while (!need_value) {
      if (stack.empty()) {
        if (pos != n) return parse_error("expecting end of input");
        return value;
      }
      Frame& f = stack.back();
      if (f.is_object && f.awaiting_key) {
        if (!value.is_string()) return parse_error("key is not a string in object");
        f.key = std::move(value.get_ref<std::string&>());
        f.awaiting_key = false;
        if (pos >= n) return parse_error("premature EOI");
        if (tokens[pos].type != TokenType::kColon) return parse_error("missing : in object pair");
        pos++;
        need_value = true;
        continue;
      }
      if (f.is_object) {
        if (f.value.contains(f.key)) return parse_error("duplicate key");
        f.value.emplace(std::move(f.key), std::move(value));
        f.key.clear();
      } else {
        f.value.push_back(std::move(value));
      }
      if (pos >= n) return parse_error("premature EOI");
      const TokenType next = tokens[pos++].type;
      if (next == (f.is_object ? TokenType::kRCurly : TokenType::kRSquare)) {
        value = std::move(f.value);
        stack.pop_back();
        continue;
      }
      if (next != TokenType::kComma) {
        return parse_error(f.is_object ? "expected separator in dict"
                                       : "expected separator in list");
      }
      f.awaiting_key = true;
      need_value = true;
    }
  }
}

JsonStreamer::JsonStreamer(Emit emit, JsonStreamerLimits limits)
    : emit_(std::move(emit)), limits_(limits) {}

void JsonStreamer::feed(std::string_view bytes) {
  stopped_ = false;
  for (char ch : bytes) {
    if (stopped_) break;
    feed_byte(static_cast<uint8_t>(ch));
  }
}

bool JsonStreamer::idle() const {
  return (state_ == State::kStart || state_ == State::kRecovery) && tokens_.empty() &&
         !discarding_ && braces_ == 0 && brackets_ == 0;
}

void JsonStreamer::reset() {
  state_ = State::kStart;
  token_.clear();
  token_dropped_ = false;
  reset_value();
}

void JsonStreamer::flush() {
  switch (state_) {
    case State::kZero:
    case State::kDigits:
      finish_token(TokenType::kInteger);
      break;
    case State::kMantissaDigits:
    case State::kExpDigits:
      finish_token(TokenType::kFloat);
      break;
    case State::kKeyword:
      finish_token(TokenType::kKeyword);
      break;
    case State::kStart:
    case State::kRecovery:
      break;
    default:
      lexical_error();
      break;
  }
  state_ = State::kStart;
  if (discarding_ || tokens_.empty()) {
    reset_value();
    return;
  }
  Result<json> r = json_parse_tokens(tokens_, text_);
  reset_value();
  emit_(std::move(r));
}

void JsonStreamer::append_token_byte(uint8_t c) {
  if (token_dropped_) return;
  if (discarding_) {
    // The value is being skipped: keep only what an error message may quote.
    if (token_.size() < kMaxStrayText) token_.push_back(static_cast<char>(c));
    return;
  }
  token_.push_back(static_cast<char>(c));
  if (text_.size() + token_.size() + 1 > limits_.max_value_bytes) {
    token_.clear();
    token_dropped_ = true;
    fail_value("JSON token size limit exceeded", false);
  }
}

void JsonStreamer::finish_token(TokenType type) {
  state_ = State::kStart;
  process_token(type, token_);
  token_.clear();
  token_dropped_ = false;
}

void JsonStreamer::lexical_error() {
  process_token(TokenType::kError, token_);
  token_.clear();
  token_dropped_ = false;
  state_ = State::kRecovery;
}

void JsonStreamer::feed_byte(uint8_t c) {
  for (;;) {
    switch (state_) {
      case State::kStart:
        switch (c) {
          case ' ':
          case '\t':
          case '\r':
          case '\n':
            return;
          case '{':
          case '}':
          case '[':
          case ']':
          case ':':
          case ',': {
            TokenType t = c == '{'   ? TokenType::kLCurly
                          : c == '}' ? TokenType::kRCurly
                          : c == '[' ? TokenType::kLSquare
                          : c == ']' ? TokenType::kRSquare
                          : c == ':' ? TokenType::kColon
                                     : TokenType::kComma;
            append_token_byte(c);
            finish_token(t);
            return;
          }
          case '"':
            state_ = State::kDqString;
            break;
          case '\'':
            state_ = State::kSqString;
            break;
          case '0':
            state_ = State::kZero;
            break;
          case '-':
            state_ = State::kSign;
            break;
          default:
            if (c >= '1' && c <= '9') {
              state_ = State::kDigits;
            } else if (c >= 'a' && c <= 'z') {
              state_ = State::kKeyword;
            } else {
              append_token_byte(c);
              lexical_error();
              return;
            }
        }
        append_token_byte(c);
        return;

      case State::kRecovery:
        // Skip to a promising resynchronisation point: a structural character, a control
        // character other than tab, or a byte that cannot occur in UTF-8.
        if ((c < 0x20 && c != '\t') || c >= 0xFE || c == '[' || c == ']' || c == '{' || c == '}' ||
            c == ':' || c == ',') {
          state_ = State::kStart;
          continue;
        }
        return;

      case State::kDqString:
      case State::kSqString: {
        const uint8_t quote = state_ == State::kDqString ? '"' : '\'';
        append_token_byte(c);
        if (c == quote) {
          finish_token(TokenType::kString);
        } else if (c == '\\') {
          state_ = state_ == State::kDqString ? State::kDqEscape : State::kSqEscape;
        } else if (c < 0x20 || c > 0xFD) {
          lexical_error();
        }
        return;
      }

      case State::kDqEscape:
      case State::kSqEscape:
        append_token_byte(c);
        if (c < 0x20 || c > 0xFD) {
          lexical_error();
        } else {
          state_ = state_ == State::kDqEscape ? State::kDqString : State::kSqString;
        }
        return;

      case State::kZero:
        if (is_digit(c)) {
          append_token_byte(c);
          lexical_error();
          return;
        }
        if (c == '.') {
          append_token_byte(c);
          state_ = State::kMantissa;
          return;
        }
        finish_token(TokenType::kInteger);
        continue;

      case State::kSign:
        append_token_byte(c);
        if (c == '0') {
          state_ = State::kZero;
        } else if (c >= '1' && c <= '9') {
          state_ = State::kDigits;
        } else {
          lexical_error();
        }
        return;

      case State::kDigits:
        if (is_digit(c)) {
          append_token_byte(c);
          return;
        }
        if (c == 'e' || c == 'E' || c == '.') {
          append_token_byte(c);
          state_ = c == '.' ? State::kMantissa : State::kExpE;
          return;
        }
        finish_token(TokenType::kInteger);
        continue;

      case State::kMantissa:
        append_token_byte(c);
        if (is_digit(c)) {
          state_ = State::kMantissaDigits;
        } else {
          lexical_error();
        }
        return;

      case State::kMantissaDigits:
        if (is_digit(c)) {
          append_token_byte(c);
          return;
        }
        if (c == 'e' || c == 'E') {
          append_token_byte(c);
          state_ = State::kExpE;
          return;
        }
        finish_token(TokenType::kFloat);
        continue;

      case State::kExpE:
        append_token_byte(c);
        if (c == '+' || c == '-') {
          state_ = State::kExpSign;
        } else if (is_digit(c)) {
          state_ = State::kExpDigits;
        } else {
          lexical_error();
        }
        return;

      case State::kExpSign:
        append_token_byte(c);
        if (is_digit(c)) {
          state_ = State::kExpDigits;
        } else {
          lexical_error();
        }
        return;

      case State::kExpDigits:
        if (is_digit(c)) {
          append_token_byte(c);
          return;
        }
        finish_token(TokenType::kFloat);
        continue;

      case State::kKeyword:
        if (c >= 'a' && c <= 'z') {
          append_token_byte(c);
          return;
        }
        finish_token(TokenType::kKeyword);
        continue;
    }
  }
}

void JsonStreamer::process_token(TokenType type, std::string_view text) {
  if (type == TokenType::kError) {
    std::string msg = "JSON parse error, stray '";
    msg.append(text.substr(0, kMaxStrayText));
    msg += '\'';
    reset_value();
    emit_(generic_error(std::move(msg)));
    return;
  }
  switch (type) {
    case TokenType::kLCurly:
      braces_++;
      break;
    case TokenType::kRCurly:
      braces_--;
      break;
    case TokenType::kLSquare:
      brackets_++;
      break;
    case TokenType::kRSquare:
      brackets_--;
      break;
    default:
      break;
  }
  const bool open = (braces_ > 0 || brackets_ > 0) && braces_ >= 0 && brackets_ >= 0;
  if (discarding_) {
    if (!open) reset_value();
    return;
  }
  if (text_.size() + text.size() + 1 > limits_.max_value_bytes) {
    fail_value("JSON token size limit exceeded", !open);
    return;
  }
  if (tokens_.size() + 1 > limits_.max_tokens) {
    fail_value("JSON token count limit exceeded", !open);
    return;
  }
  if (static_cast<uint64_t>(braces_ + brackets_) > limits_.max_depth && braces_ >= 0 &&
      brackets_ >= 0) {
    fail_value("JSON nesting depth limit exceeded", !open);
    return;
  }
  tokens_.push_back(Token{type, text_.size(), text.size()});
  text_.append(text);
  if (open) return;
  Result<json> r = json_parse_tokens(tokens_, text_);
  reset_value();
  emit_(std::move(r));
}

void JsonStreamer::fail_value(const char* message, bool value_complete) {
  if (value_complete) {
    reset_value();
  } else {
    // Keep the bracket counts: they tell where the discarded value ends.
    const int64_t braces = braces_, brackets = brackets_;
    reset_value();
    braces_ = braces;
    brackets_ = brackets;
    discarding_ = true;
  }
  emit_(generic_error(message));
}

void JsonStreamer::reset_value() {
  braces_ = 0;
  brackets_ = 0;
  discarding_ = false;
  if (text_.capacity() > kKeepCapacity) {
    std::string().swap(text_);
  } else {
    text_.clear();
  }
  if (tokens_.capacity() * sizeof(Token) > kKeepCapacity) {
    std::vector<Token>().swap(tokens_);
  } else {
    tokens_.clear();
  }
}

}  // namespace machina
