// The memory API (QEMU's softmmu/memory.c): regions, address spaces, flat views, dispatch, DMA
// and `info mtree` dumps.
#pragma once

#include "system/address_space.h"  // IWYU pragma: export
#include "system/flatview.h"       // IWYU pragma: export
#include "system/memory_dump.h"    // IWYU pragma: export
#include "system/memory_epoch.h"   // IWYU pragma: export
#include "system/memory_region.h"  // IWYU pragma: export
