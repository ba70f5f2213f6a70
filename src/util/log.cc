#include "util/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>

namespace machina {

namespace {
std::atomic<unsigned> g_mask{0};
std::mutex g_mu;
FILE* g_file = nullptr;

struct Item {
  const char* name;
  unsigned mask;
};
constexpr Item kItems[] = {{"guest_errors", LOG_GUEST_ERROR},
                           {"unimp", LOG_UNIMP},
                           {"int", LOG_INT},
                           {"cpu", LOG_CPU},
                           {"in_asm", LOG_IN_ASM},
                           {"exec", LOG_EXEC},
                           {"trace", LOG_TRACE}};
}  // namespace

Status log_setup(const std::vector<std::string>& items, const std::optional<std::string>& file) {
  unsigned mask = 0;
  for (const std::string& it : items) {
    if (it.empty()) continue;
    bool found = false;
    for (const Item& k : kItems) {
      if (it == k.name) {
        mask |= k.mask;
        found = true;
      }
    }
    if (!found) return generic_error("-d " + it + ": unknown log item; try '-d help'");
  }
  std::lock_guard lock(g_mu);
  if (file) {
    FILE* f = std::fopen(file->c_str(), "a");
    if (!f) return generic_error("-D " + *file + ": cannot open the log file");
    g_file = f;
  }
  g_mask = mask;
  return Status::Ok();
}

bool log_enabled(unsigned mask) {
  return (g_mask.load(std::memory_order_relaxed) & mask) != 0;
}

void log_mask(unsigned mask, const std::string& text) {
  if (!log_enabled(mask)) return;
  std::lock_guard lock(g_mu);
  FILE* f = g_file ? g_file : stderr;
  std::fputs(text.c_str(), f);
  if (text.empty() || text.back() != '\n') std::fputc('\n', f);
  std::fflush(f);
}

}  // namespace machina
