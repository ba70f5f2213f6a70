// Feeds arbitrary bytes into a QmpSession with a few registered commands. Every output line must
// be ASCII, CRLF-terminated and valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "monitor/qmp-commands.h"
#include "monitor/qmp-session.h"

using machina::json;

namespace {

machina::QmpCommandRegistry& registry() {
  static machina::QmpCommandRegistry* reg = [] {
    auto* r = new machina::QmpCommandRegistry();
    (void)machina::qmp_register_core_commands(*r).ok();
    (void)r
        ->add({"echo",
               {{"value", machina::QmpArgType::kAny}},
               [](const json& a, machina::QmpContext& ctx) -> machina::Result<json> {
                 ctx.session.send_event("ECHOED", json{{"v", a.at("value")}});
                 return a;
               }})
        .ok();
    machina::QmpCommand add{
        "add",
        {{"a", machina::QmpArgType::kInt}, {"b", machina::QmpArgType::kInt, true}},
        [](const json& a, machina::QmpContext&) -> machina::Result<json> {
          if (!a.contains("b")) return machina::generic_error("need b");
          return json(a.at("a").get<int64_t>() / 2 + a.at("b").get<int64_t>() / 2);
        }};
    add.allow_oob = true;
    (void)r->add(std::move(add)).ok();
    machina::QmpCommand free_form{
        "free",
        {{"driver", machina::QmpArgType::kString}},
        [](const json& a, machina::QmpContext&) -> machina::Result<json> { return a; }};
    free_form.extra_args = true;
    (void)r->add(std::move(free_form)).ok();
    return r;
  }();
  return *reg;
}

void check_output(std::string_view out) {
  size_t start = 0;
  while (start < out.size()) {
    size_t pos = out.find("\r\n", start);
    if (pos == std::string_view::npos) abort();  // every line is complete
    std::string_view line = out.substr(start, pos - start);
    for (unsigned char c : line) {
      if (c >= 0x80 || c == '\n' || c == '\r') abort();
    }
    if (!json::accept(line)) abort();
    start = pos + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string out;
  machina::QmpSessionOptions opts;
  opts.limits.max_value_bytes = 1 << 16;  // keep runs fast; limits are exercised all the same
  opts.limits.max_tokens = 4096;
  opts.limits.max_depth = 64;
  opts.max_pending_output = 1 << 20;
  machina::QmpSession session(
      registry(), "machina fuzz",
      [&](std::string_view s) {
        out.append(s);
        return s.size();
      },
      opts);
  session.start();
  // First byte picks a chunk size so that values get split at arbitrary points.
  size_t chunk = size ? (data[0] % 17) + 1 : 1;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (size_t off = 0; off < in.size(); off += chunk) {
    session.feed(in.substr(off, chunk));
    if (off % 64 == 0) session.send_event("TICK");
  }
  session.end_of_input();
  check_output(out);
  return 0;
}
