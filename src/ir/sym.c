/* sym.c -- symbolic integers: recognising plain symbols inside sympy expressions. */
#include "ir/ir.h"

/* True for an identifier [A-Za-z_][A-Za-z0-9_]* of n > 0 bytes. */
static bool is_ident(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		bool digit = c >= '0' && c <= '9';
		if (!(alpha || (digit && i > 0)))
			return false;
	}
	return true;
}

const char *pt2c__sym_symbol_name(const char *expr, size_t *len)
{
	if (len)
		*len = 0;
	if (!expr)
		return NULL;
	size_t n = strlen(expr);
	if (is_ident(expr, n)) {
		if (len)
			*len = n;
		return expr;
	}
	/* srepr form: Symbol('s77') or Symbol('s77', positive=True, integer=True) */
	static const char pre[] = "Symbol('";
	if (n < sizeof pre || memcmp(expr, pre, sizeof pre - 1) != 0 || expr[n - 1] != ')')
		return NULL;
	const char *name = expr + sizeof pre - 1;
	const char *q = memchr(name, '\'', (size_t)(expr + n - name));
	if (!q || !is_ident(name, (size_t)(q - name)))
		return NULL;
	const char *rest = q + 1;
	size_t rest_n = (size_t)(expr + n - 1 - rest); /* between the quote and the final ')' */
	if (rest_n > 0 && rest[0] != ',')
		return NULL;
	/* assumptions only: keyword=Value pairs, no nested calls */
	for (size_t i = 0; i < rest_n; i++)
		if (rest[i] == '(' || rest[i] == ')' || rest[i] == '\'')
			return NULL;
	if (len)
		*len = (size_t)(q - name);
	return name;
}
