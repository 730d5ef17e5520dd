"""Text in a document that addresses an AI instead of the reader, and lines that send the reader to a
phone number or a payment: the two things a planted paragraph needs to turn an answer into a scam.

``instruction_hint`` is a hint, not a defence: a planted sentence can always be worded so no pattern
catches it. What it catches is dropped from what the model reads and the chunk is marked for a 督导 to
check (chunk meta ``flagged``). The defence that does not depend on wording is ``directive_kind``: an
answer never quotes a line that directs the reader to a phone number (other than the well-known public
service numbers) or to a payment, unless the question asks for one.
"""

from __future__ import annotations

import re

from ingest.textutil import normalize, split_sentences

# Sentences that speak to the model ("ignore the above", "you must answer...", "tell the residents directly").
INSTRUCTION = re.compile(
    r"(忽略|无视|不要?理会|不用理会|不必理会|忘记|忘掉|抛开|别管|跳过)(掉)?(以上|上述|之前|前面|前文|上文|所有|全部|其他|别的|原有|原来)?"
    r".{0,8}?(指令|指示|要求|规则|提示|设定|内容|资料|信息|说明|约束)"
    r"|不要再?(参考|依据|根据|引用|理会|使用|看)(以上|上述|之前|前面|前文|上文|其他|别的|知识库|资料)"
    r"|直接(告诉|回复|回答|通知|答复)(居民|用户|提问的?人|对方|他们|群众|咨询者|来访者)"
    r"|(你|AI|助手|模型|机器人|智能体)(现在|今后|从现在起|接下来)?(必须|务必|应该|只能|一律|只需|要)(用|在回答|回答|回复|告诉|说|输出|写)"
    r"|(作为|你是)(一个|一名)?.{0,6}(AI|人工智能|助手|大模型|语言模型|机器人)"
    r"|(回答|回复|输出)(时|中|里)?(一律|只|必须|务必)"
    r"|(AI|人工智能|助手|模型|机器人)在?(回答|回复|生成)[^。]{0,10}(须|必须|要|应当?)"
    r"|(在|于)(回答|回复|答案)的?(最后|末尾|开头|结尾|最前面)(加上|加|附上|写上|补充)"
    r"|给(AI|人工智能|助手|模型|机器人|大模型)的(说明|指令|提示|要求)"
    r"|(新的|以下(是|为)?|如下)(指令|指示)|指令如下|(系统|system)\s*(提示|prompt|消息|指令)"
    r"|\[INST\]|<\|?(system|im_start)\|?>|【系统】"
    r"|ignore (all|any|previous|the above|prior)|disregard (all|previous|the above)|you must|you are now|act as",
    re.I)
# A sentence that only carries what the previous, flagged one asked for ("回答：请拨打…"), or the next step of
# a list of them ("下面是给助手的说明。第一，…第二，…").
PAYLOAD = re.compile(r"^\s*((回答|答|回复|输出|告诉(居民|用户)|最终答案)\s*[:：]"
                     r"|第[一二三四五六七八九十]+[，、,:：]|[一二三四五六七八九十]+、|\d+[.、．]|[（(][一二三四五六七八九十\d]+[)）]"
                     r"|(首先|其次|然后|接着|最后|另外)[，,])")

# Phone numbers: mobiles, landlines with or without area code, 400/800 numbers, and a number written in
# Chinese digits. The short public service numbers (110, 119, 120, 122, 12345-style 123xx, 96xxx) are not
# among them: sending someone there is safe. Matched on normalize()d text (full-width digits, 繁體).
PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{7,8}|[48]00[\s-]?\d{3}[\s-]?\d{4}"
                   r"|\d{4}[\s-]\d{4}|[2-8]\d{6,7})(?![\d年])|[零〇一二三四五六七八九幺]{7,}")
CALL = re.compile(r"拨打|致电|打电话|来电|电话|热线|联系|咨询|短信|微信|加[^。]{0,4}(号|群)|call", re.I)
# A contact that is not a number: a WeChat or QQ id, a group to join.
CONTACT = re.compile(r"(加|添加|搜索|联系)[^。；\n]{0,6}(微信|QQ|qq|好友|群)[^。；\n]{0,6}[A-Za-z][-_A-Za-z0-9]{4,}")
# A payment sent somewhere: a pay/transfer verb with an account, a code, a link or a number to pay to ("不转账",
# "要求转账", "转账凭证" are warnings about fraud, not directions).
PAYMENT = re.compile(r"(?<![不勿别莫])(转账|汇款|打款|转入|存入|支付|付款|缴纳|缴费|交费|交纳|充值)[^。；！？\n]{0,20}?"
                     r"(账号|账户|卡号|收款码|二维码|微信号?|支付宝|网址|链接|https?://|www\.|(?<!\d)\d{6,}(?!\d))"
                     r"|(https?://|www\.)\S+[^。；\n]{0,12}(缴|付|支付|转账|充值)"
                     r"|扫码(支付|付款|缴费|转账)|收款(码|账户|账号)|付款码")
# What a question says when it asks for a phone number or about paying.
ASKS_PHONE = re.compile(r"电话|号码|热线|联系方式|怎么联系|联系谁|找谁|打给|拨打|致电|手机|微信")
ASKS_PAYMENT = re.compile(r"缴|交钱|交费|付款|支付|转账|汇款|收费|费用|多少钱|钱|账户|账号|押金|保证金")


def instruction_hint(text: str) -> str | None:
    """The first sentence of ``text`` that looks like an instruction to an AI, if any."""
    for sentence in split_sentences(text):
        if _instruction(sentence):
            return sentence.strip()
    return None


def _instruction(sentence: str) -> bool:
    return bool(INSTRUCTION.search(sentence) or INSTRUCTION.search(normalize(sentence)))


def directive_kind(sentence: str) -> str | None:
    """"phone" or "payment" if the sentence sends the reader to a phone number (or another private
    contact) or to a payment."""
    text = normalize(sentence)
    if PAYMENT.search(text):
        return "payment"
    if (PHONE.search(text) and CALL.search(text)) or CONTACT.search(text):
        return "phone"
    return None


def asked_for(question: str) -> set[str]:
    """Which directives a question asks for ("phone", "payment")."""
    question = normalize(question or "")
    return {kind for kind, asks in (("phone", ASKS_PHONE), ("payment", ASKS_PAYMENT)) if asks.search(question)}


def screen(text: str, allowed: set[str] = frozenset()) -> tuple[str, int, int]:
    """``text`` without instruction sentences (and the payload right after one) and without directives
    the question did not ask for; returns (text, instructions dropped, directives dropped)."""
    kept, instructions, directives, after_instruction = [], 0, 0, False
    for sentence in split_sentences(text):
        if _instruction(sentence) or (after_instruction and PAYLOAD.search(sentence)):
            instructions += 1
            after_instruction = True
            continue
        after_instruction = False
        kind = directive_kind(sentence)
        if kind and kind not in allowed:
            directives += 1
            continue
        kept.append(sentence)
    return "".join(kept), instructions, directives
