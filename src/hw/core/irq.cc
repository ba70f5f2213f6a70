#include "hw/core/irq.h"

namespace machina {

void IrqLine::set(int level) {
  level_.store(level, std::memory_order_relaxed);
  if (interceptor_) {
    interceptor_(n_, level);
  } else if (handler_) {
    handler_(n_, level);
  }
}

}  // namespace machina
