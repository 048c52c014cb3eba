// The mpk backend's lifecycle (mpk.h, backend.h).
#include "flex/runtime/mpk.h"

namespace flex::runtime {

bool mpk_lifecycle::applies(const flex_image_layout &img) {
  for (unsigned i = 0; i < img.n_compartments; ++i) {
    if (img.compartments[i].isolation == FLEX_ISO_MPK) return true;
  }
  return false;
}

status mpk_lifecycle::check(const flex_image_layout &img) {
  mpk_plan plan;
  if (status s = plan_mpk(img, plan); !s.ok()) return s;
  // Without PKU, mpk_boot refuses before it allocates a key or tags a page: its refusal names the
  // domains and the reason.
  if (!pku_status().available) return mpk_boot(img);
  return {};
}

status mpk_lifecycle::boot(boot_context &ctx) {
  // The shared heap of a mixed image is the process backend's, tagged here with the shared key.
  mpk_boot_options opt;
  if (ctx.shared_heap) {
    opt.shared_heap = ctx.shared_heap;
    opt.shared_heap_region = ctx.shared_heap_region;
  }
  return mpk_boot(ctx.img, opt);
}

void mpk_lifecycle::describe(const flex_image_layout &img, std::FILE *out) {
  mpk_plan plan;
  if (status s = plan_mpk(img, plan); !s.ok()) {
    std::fprintf(out, "mpk backend: %s\n", s.message().c_str());
    return;
  }
  std::fputs("mpk backend: keys", out);
  for (unsigned i = 0; i < plan.n_domains; ++i) {
    std::fprintf(out, " %s=%d", img.compartments[plan.domains[i].compartment].name, plan.domains[i].key);
  }
  std::fprintf(out, ", shared=%d; ", plan.shared_key);
  const pku_support &pku = pku_status();
  if (pku.available) {
    std::fputs("this machine has PKU\n", out);
  } else {
    std::fprintf(out, "this machine cannot run them: %s\n", pku.reason.c_str());
  }
  // Machine-readable (flexbuild report reads it): the sizes of what the backend lays out.
  const mpk_boot_options defaults;
  std::fprintf(out, "memory: mpk stack_mib=%zu dss_mib=%zu default_heap_mib=%zu shared_heap_mib=%zu\n",
               kMpkStackSize >> 20, kMpkStackSize >> 20, defaults.default_heap_mib, defaults.shared_heap_mib);
}

}  // namespace flex::runtime
