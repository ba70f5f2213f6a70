// virtio-serial / virtio-console (virtio 1.x, 5.3) with VIRTIO_CONSOLE_F_MULTIPORT:
// "virtio-serial-device" (proxy "virtio-serial-pci") owns a "virtio-serial-bus" (named
// "<proxy id>.0", as QEMU) on which "virtconsole" and "virtserialport" devices sit, each on a
// chardev. Queues: port 0 receive/transmit (0, 1), control receive/transmit (2, 3), then port n's
// pair at 2n + 2 and 2n + 3.
//
// The control protocol: the driver's DEVICE_READY gets a DEVICE_ADD per port; its PORT_READY
// gets CONSOLE_PORT (virtconsole), PORT_NAME (name=) and PORT_OPEN when the chardev is connected;
// its PORT_OPEN tells whether a guest program has the port open. Host bytes go into the port's
// receive buffers while the guest has it open; guest bytes go to the chardev, with back-pressure
// (a transmit buffer the chardev cannot take yet waits until it can).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "chardev/char-fe.h"
#include "hw/virtio/virtio.h"

namespace machina {

inline constexpr const char* kTypeVirtioSerial = "virtio-serial-device";
inline constexpr const char* kTypeVirtioSerialPci = "virtio-serial-pci";
inline constexpr const char* kTypeVirtioSerialBus = "virtio-serial-bus";
inline constexpr const char* kTypeVirtioSerialPort = "virtserialport";
inline constexpr const char* kTypeVirtConsole = "virtconsole";

class VirtioSerial;

class VirtioSerialPort : public Device {
 public:
  // Properties.
  std::string chardev_;
  std::string name_;
  uint32_t nr_ = UINT32_MAX;  // port number; UINT32_MAX: the first free one

  bool is_console() const;
  uint32_t nr() const { return nr_; }
  bool host_connected() const { return host_connected_; }
  bool guest_connected() const { return guest_connected_; }

  // Called by the device.
  void set_guest_connected(bool on);
  void guest_ready();  // PORT_READY from the driver
  void flush_tx();     // the guest queued output
  void rx_ready();     // the guest queued input buffers
  void device_reset();

 protected:
  Status do_realize() override;
  void do_unrealize() override;

 private:
  VirtioSerial* serial() const;
  size_t can_read();
  void read(const uint8_t* buf, size_t len);
  void event(ChardevEvent ev);

  CharFrontend fe_;
  bool host_connected_ = false;
  bool guest_connected_ = false;
  bool ready_ = false;  // the driver sent PORT_READY
  // A transmit element the chardev has not fully taken yet, and how far it got.
  std::optional<VirtQueueElement> tx_elem_;
  size_t tx_offset_ = 0;
  bool tx_waiting_ = false;
  // The receive element being filled.
  std::optional<VirtQueueElement> rx_elem_;
};

class VirtioSerial : public VirtioDevice {
 public:
  uint32_t max_ports_ = 31;

  // Port n's queues.
  VirtQueue* rx_queue(uint32_t nr);
  VirtQueue* tx_queue(uint32_t nr);
  VirtioSerialPort* port(uint32_t nr) const;
  // Sends a control message (queued until the driver gives control buffers).
  void send_control(uint32_t id, uint16_t event, uint16_t value, const std::string& extra = "");
  bool driver_ready() const { return driver_ready_; }
  // Port registration (port realize/unrealize).
  Status add_port(VirtioSerialPort* p);
  void remove_port(VirtioSerialPort* p);

 protected:
  uint64_t device_features() const override;
  void get_config(std::vector<uint8_t>& cfg) override;
  void device_reset() override;
  Status virtio_realize() override;
  void virtio_unrealize() override;

 private:
  void handle_control_out(VirtQueue& vq);
  void handle_control_in(VirtQueue& vq);
  void flush_control();
  void handle_tx(uint32_t nr);
  void handle_rx(uint32_t nr);

  Bus* bus_ = nullptr;
  std::vector<VirtioSerialPort*> ports_;  // by number
  std::deque<std::vector<uint8_t>> control_out_;
  bool driver_ready_ = false;
};

}  // namespace machina
