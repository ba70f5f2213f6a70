// Cuts a QMP input byte stream into top-level JSON values and parses each one.
//
// Follows QEMU's JSON lexer/streamer rules (written anew): input is not line-framed, a value may
// span any number of chunks and several values may arrive in one chunk. Extensions over RFC 8259:
// single-quoted strings and the \' escape. Per value, QEMU's limits apply (64 MiB of token text,
// 2 Mi tokens, nesting depth 1024); a value past a limit is reported once and its remaining bytes
// are skipped up to the end of that value. A lexical error (a control character other than
// tab/CR/LF outside strings, a 0xFE/0xFF byte, a bad number, ...) is reported and the lexer skips
// input until a structural character, a control character or a 0xFE/0xFF byte, which lets a
// client resynchronise. Parsing is iterative: deep nesting never recurses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "qapi/error.h"

namespace machina {

using json = nlohmann::json;

struct JsonStreamerLimits {
  size_t max_value_bytes = size_t{64} << 20;  // token text of one value
  size_t max_tokens = size_t{2} << 20;        // tokens of one value
  size_t max_depth = 1024;                    // nesting of one value
};

class JsonStreamer {
 public:
  // Called once per top-level value with the value or an error ("JSON parse error, ...").
  // It must not destroy the streamer.
  using Emit = std::function<void(Result<json>)>;

  explicit JsonStreamer(Emit emit, JsonStreamerLimits limits = {});

  void feed(std::string_view bytes);
  // End of input: completes a pending number/keyword and reports an incomplete value.
  void flush();
  // Forgets any partial input.
  void reset();
  // Stops processing the rest of the chunk being fed (e.g. the consumer is gone).
  void stop() { stopped_ = true; }
  // True when no partial value is pending.
  bool idle() const;

 private:
  enum class State : uint8_t {
    kStart,
    kRecovery,
    kDqString,
    kDqEscape,
    kSqString,
    kSqEscape,
    kZero,
    kSign,
    kDigits,
    kMantissa,
    kMantissaDigits,
    kExpE,
    kExpSign,
    kExpDigits,
    kKeyword,
  };

 public:
  enum class TokenType : uint8_t {
    kLCurly,
    kRCurly,
    kLSquare,
    kRSquare,
    kColon,
    kComma,
    kInteger,
    kFloat,
    kKeyword,
    kString,
    kError,
  };
  struct Token {
    TokenType type;
    size_t offset;  // into the value's text buffer
    size_t length;
  };

 private:
  void feed_byte(uint8_t c);
  void append_token_byte(uint8_t c);
  void finish_token(TokenType type);
  void lexical_error();
  void process_token(TokenType type, std::string_view text);
  void fail_value(const char* message, bool value_complete);
  void reset_value();

  Emit emit_;
  JsonStreamerLimits limits_;

  // Lexer.
  State state_ = State::kStart;
  std::string token_;
  bool token_dropped_ = false;  // current token exceeded the size limit: its text is not kept

  // Current value.
  int64_t braces_ = 0;
  int64_t brackets_ = 0;
  std::string text_;  // texts of the value's tokens, back to back
  std::vector<Token> tokens_;
  bool discarding_ = false;  // value failed a limit: skip its remaining tokens

  bool stopped_ = false;
};

// Parses one complete token sequence into a value (QEMU parser semantics and error texts).
// Exposed for tests.
Result<json> json_parse_tokens(const std::vector<JsonStreamer::Token>& tokens,
                               std::string_view text);

}  // namespace machina
