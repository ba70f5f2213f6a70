#include "system/memory_dump.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <vector>

#include "qom/object.h"
#include "system/address_space.h"
#include "system/memory_region.h"

namespace machina {

namespace {

constexpr const char* kIndent = "  ";

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  out += big;
}

// QEMU's MR_SIZE: the offset of the last byte (size 0 prints as 0).
uint64_t mr_last(const MemoryRegion& mr) {
  unsigned __int128 s = mr.size128();
  return s == 0 ? 0 : static_cast<uint64_t>(s - 1);
}

void print_owner(std::string& out, const MemoryRegion& mr) {
  Object* owner = mr.owner();
  if (!owner) {
    out += " orphan";
    return;
  }
  bool dev = object_dynamic_cast(owner, "device") != nullptr;
  std::string path = owner->canonical_path();
  appendf(out, " owner:{%s", dev ? "dev" : "obj");
  if (!path.empty()) {
    appendf(out, " path=%s}", path.c_str());
  } else {
    appendf(out, " type=%s}", owner->type_name().c_str());
  }
}

struct TreePrinter {
  const MtreeOptions& opts;
  std::string& out;
  std::vector<const MemoryRegion*> alias_queue;

  void print(const MemoryRegion* mr, unsigned level, uint64_t base, int depth = 0) {
    if (!mr || depth > 64) return;
    uint64_t start = base + mr->addr();
    uint64_t end = start + mr_last(*mr);
    if (mr->enabled() || opts.disabled) {
      for (unsigned i = 0; i < level; ++i) out += kIndent;
      const char* disabled = mr->enabled() ? "" : " [disabled]";
      if (mr->is_alias()) {
        const MemoryRegion* target = mr->alias_target();
        if (target &&
            std::find(alias_queue.begin(), alias_queue.end(), target) == alias_queue.end()) {
          alias_queue.push_back(target);
        }
        appendf(out,
                "%016" PRIx64 "-%016" PRIx64 " (prio %d, %s): alias %s @%s %016" PRIx64
                "-%016" PRIx64 "%s",
                start, end, mr->priority(), mr->type_word(), mr->name().c_str(),
                target ? target->name().c_str() : "(null)", mr->alias_offset(),
                mr->alias_offset() + mr_last(*mr), disabled);
      } else {
        appendf(out, "%016" PRIx64 "-%016" PRIx64 " (prio %d, %s): %s%s", start, end,
                mr->priority(), mr->type_word(), mr->name().c_str(), disabled);
      }
      if (opts.owner) print_owner(out, *mr);
      out += '\n';
    }
    // Children by address, then higher priority first; ties keep the subregion order.
    std::vector<const MemoryRegion*> subs(mr->subregions().begin(), mr->subregions().end());
    std::stable_sort(subs.begin(), subs.end(), [](const MemoryRegion* a, const MemoryRegion* b) {
      if (a->addr() != b->addr()) return a->addr() < b->addr();
      return a->priority() > b->priority();
    });
    for (const MemoryRegion* sub : subs) print(sub, level + 1, start, depth + 1);
  }
};

void print_flatview_ranges(std::string& out, const FlatView* v, bool owner) {
  if (!v || v->ranges().empty()) {
    out += kIndent;
    out += "No rendered FlatView\n\n";
    return;
  }
  for (const FlatRange& r : v->ranges()) {
    const MemoryRegion& mr = *r.mr;
    const char* type = r.readonly ? "rom" : mr.type_word();
    appendf(out, "%s%016" PRIx64 "-%016" PRIx64 " (prio %d, %s): %s", kIndent, r.start, r.last,
            mr.priority(), type, mr.name().c_str());
    if (r.offset_in_region) appendf(out, " @%016" PRIx64, r.offset_in_region);
    if (owner) print_owner(out, mr);
    out += '\n';
  }
  out += '\n';
}

// Address spaces grouped by root, in creation order.
std::vector<std::vector<AddressSpace*>> group_by_root() {
  std::vector<std::vector<AddressSpace*>> groups;
  for (AddressSpace* as : address_spaces()) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& g) { return g.front()->root() == as->root(); });
    if (it == groups.end()) {
      groups.push_back({as});
    } else {
      it->push_back(as);
    }
  }
  return groups;
}

}  // namespace

std::string mtree_dump(const MtreeOptions& opts) {
  MemoryTransaction t;  // holds the topology lock: the tree and current views are stable
  std::string out;
  auto groups = group_by_root();
  if (opts.flatview) {
    int counter = 0;
    for (const auto& g : groups) {
      appendf(out, "FlatView #%d\n", counter++);
      for (AddressSpace* as : g) {
        appendf(out, " AS \"%s\", root: %s", as->name().c_str(),
                as->root() ? as->root()->name().c_str() : "(none)");
        if (as->root() && as->root()->is_alias() && as->root()->alias_target()) {
          appendf(out, ", alias %s", as->root()->alias_target()->name().c_str());
        }
        out += '\n';
      }
      MemoryRegion* root = g.front()->root();
      appendf(out, " Root memory region: %s\n", root ? root->name().c_str() : "(none)");
      print_flatview_ranges(out, g.front()->view(), opts.owner);
    }
    return out;
  }
  TreePrinter p{opts, out, {}};
  for (const auto& g : groups) {
    for (AddressSpace* as : g) appendf(out, "address-space: %s\n", as->name().c_str());
    p.print(g.front()->root(), 1, 0);
    out += '\n';
  }
  for (size_t i = 0; i < p.alias_queue.size(); ++i) {  // grows while printing
    const MemoryRegion* mr = p.alias_queue[i];
    appendf(out, "memory-region: %s\n", mr->name().c_str());
    p.print(mr, 1, 0);
    out += '\n';
  }
  return out;
}

std::string flatview_dump(const AddressSpace& as, bool owner) {
  MemoryTransaction t;
  std::string out;
  print_flatview_ranges(out, as.view(), owner);
  return out;
}

}  // namespace machina
