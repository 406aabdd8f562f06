"""Source text → AST: decoding, spans, the Lark grammar and parser, the printer and the formatter. The only package that imports lark."""
