#ifndef RELUC_CLIBXML2_SHIM_H
#define RELUC_CLIBXML2_SHIM_H
/* Debian builds libxml2 with ICU, and <libxml/encoding.h> then includes the system's ICU headers,
   whose definitions clash with the ICU copy inside Foundation (_FoundationICU) in any module that
   sees both (debug test builds do). reluc never touches the ICU parts of libxml2 (encoding
   handlers), so they are hidden here. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

/* libxml2's generic error handler is variadic, which Swift cannot implement: this one drops
   messages (errors are taken from the reader's structured handler instead). */
static void reluc_xml_silent_error(void *ctx, const char *msg, ...) {
  (void)ctx;
  (void)msg;
}

static inline void reluc_xml_silence_generic_errors(void) {
  xmlSetGenericErrorFunc(NULL, reluc_xml_silent_error);
}
#endif
