// Text dumps of the memory map in the format of QEMU's `info mtree` (HMP).
#pragma once

#include <string>

namespace machina {

class AddressSpace;

struct MtreeOptions {
  bool flatview = false;  // -f: the flat views instead of the region trees
  bool owner = false;     // -o: the owner of each region
  bool disabled = false;  // -D: include disabled regions
};

// Every address space (grouped by root region), then the regions reached only through aliases
// ("memory-region: NAME"); or, with `flatview`, every flat view ("FlatView #N").
std::string mtree_dump(const MtreeOptions& opts = {});

// The flat view of one address space, in the `info mtree -f` format.
std::string flatview_dump(const AddressSpace& as, bool owner = false);

}  // namespace machina
