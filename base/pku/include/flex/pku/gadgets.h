// The instructions that can load PKRU, as byte patterns. One definition for the build's gadget scan
// (flexbuild: the image's file) and the runtime's disarm of the shared objects an image links (their code
// as mapped), so both count exactly the same things.
//
// Matched at EVERY byte offset: x86 decodes from wherever a jump lands, so an occurrence inside another
// instruction's immediate or displacement is as good as an aligned one.
//   WRPKRU            0F 01 EF
//   XRSTOR/XRSTOR64   [REX.W] 0F AE /5, ModRM.mod != 3  (restores PKRU when XCR0.PKRU and EDX:EAX bit 9
//                     are set; mod == 3 is LFENCE and harmless)
//   XRSTORS/XRSTORS64 [REX.W] 0F C7 /3, ModRM.mod != 3  (CPL 0 only, counted anyway as defence in depth)
//
//   for (std::size_t i = 0; i < n; ++i)
//     if (flex::pku::gadget_match m = flex::pku::gadget_at(code, n, i); m.kind != flex::pku::gadget_kind::none)
//       report(m.start, m.length);
#pragma once

#include <cstddef>
#include <cstdint>

namespace flex::pku {

enum class gadget_kind : std::uint8_t { none, wrpkru, xrstor, xrstor64, xrstors, xrstors64 };

struct gadget_match {
  gadget_kind kind = gadget_kind::none;
  std::size_t start = 0;  // of the first byte, a REX.W prefix included
  unsigned length = 0;    // 3, or 4 with the prefix (ModRM displacements not counted)
  std::size_t opcode = 0;  // of the 0F byte
};

// The gadget whose 0F byte is bytes[i], if any.
constexpr gadget_match gadget_at(const std::uint8_t *bytes, std::size_t n, std::size_t i) {
  gadget_match m;
  if (i + 3 > n || bytes[i] != 0x0f) return m;
  const std::uint8_t op = bytes[i + 1], modrm = bytes[i + 2];
  const bool memory = (modrm >> 6) != 3;
  if (op == 0x01 && modrm == 0xef) {
    m.kind = gadget_kind::wrpkru;
  } else if (op == 0xae && memory && ((modrm >> 3) & 7) == 5) {
    m.kind = gadget_kind::xrstor;
  } else if (op == 0xc7 && memory && ((modrm >> 3) & 7) == 3) {
    m.kind = gadget_kind::xrstors;
  } else {
    return m;
  }
  m.start = m.opcode = i;
  m.length = 3;
  if (m.kind != gadget_kind::wrpkru && i > 0 && (bytes[i - 1] & 0xf8) == 0x48) {  // REX.W
    m.kind = m.kind == gadget_kind::xrstor ? gadget_kind::xrstor64 : gadget_kind::xrstors64;
    m.start = i - 1;
    m.length = 4;
  }
  return m;
}

}  // namespace flex::pku
