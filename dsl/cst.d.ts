import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  directive?: DirectiveCstNode[];
  Newline?: IToken[];
  Semi?: IToken[];
  strayBlock?: BlockCstNode[];
  strayClose?: IToken[];
};

export interface DirectiveCstNode extends CstNode {
  name: "directive";
  children: DirectiveCstChildren;
}

export type DirectiveCstChildren = {
  name: IToken[];
  arg?: IToken[];
  block?: BlockCstNode[];
};

export interface BlockCstNode extends CstNode {
  name: "block";
  children: BlockCstChildren;
}

export type BlockCstChildren = {
  open: IToken[];
  directive?: DirectiveCstNode[];
  Newline?: IToken[];
  Semi?: IToken[];
  strayBlock?: BlockCstNode[];
  close?: IToken[];
};

export interface ICstNodeVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  file(children: FileCstChildren, param?: IN): OUT;
  directive(children: DirectiveCstChildren, param?: IN): OUT;
  block(children: BlockCstChildren, param?: IN): OUT;
}
