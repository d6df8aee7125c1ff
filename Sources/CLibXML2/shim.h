#ifndef RELUC_CLIBXML2_SHIM_H
#define RELUC_CLIBXML2_SHIM_H
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
